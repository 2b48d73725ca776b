#!/usr/bin/env bash
# scripts/apt-install.sh PACKAGE "why it is needed": installs a Debian package with apt-get when
# running as root; otherwise never escalates (no sudo), prints the command to run and exits 1 so
# the caller decides whether to go on without it.
set -euo pipefail
package=$1; why=$2
if [ "$(id -u)" -eq 0 ]; then
  echo "Installing Debian's $package ($why)…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null && exit 0
  echo "apt-get could not install $package ($why)." >&2
else
  echo "Missing Debian package $package ($why). As root, run: apt-get install $package" >&2
fi
exit 1
