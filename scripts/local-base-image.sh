#!/usr/bin/env bash
# Makes the Dockerfile's base image (`python:3.11-slim`) locally when no image registry can be
# reached: a Debian bookworm root filesystem made with debootstrap (Debian's python3.11, pip and
# venv; the EXTERNALLY-MANAGED marker removed), `docker import`ed under the same name.
# Usage: scripts/local-base-image.sh [IMAGE]   (needs root, debootstrap and a running Docker engine)
set -euo pipefail
image=${1:-python:3.11-slim}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
docker=${DOCKER:-docker}

root=$(mktemp -d /var/tmp/chartinsight-base.XXXXXX)
chmod 755 "$root"   # becomes the image's /, which every user must be able to enter
trap 'rm -rf "$root"' EXIT
echo "Making $image from Debian bookworm with debootstrap ($mirror)…"
started=$SECONDS
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates,tzdata \
  bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"
# Like the official image: pip may install into the image's Python, and no apt caches.
rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" -c . | "$docker" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  - "$image" >/dev/null
echo "Made $image in $((SECONDS - started)) s ($("$docker" image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))."
