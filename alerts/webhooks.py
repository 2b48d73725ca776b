"""The outgoing webhook: a JSON POST signed with HMAC-SHA256 (client side; no ORM).

Protocol (what a receiver implements):

- `POST <the user's URL>`, `Content-Type: application/json`, body = the notification as JSON
  (UTF-8; see `alerts.services.webhook_body`);
- `X-ChartInsight-Delivery`: the delivery id — the same on every retry, so a receiver can drop
  duplicates;
- `X-ChartInsight-Timestamp`: Unix seconds when this attempt was signed;
- `X-ChartInsight-Signature`: `sha256=` + hex HMAC-SHA256 of `<timestamp>.<body bytes>` keyed
  with the user's webhook secret (shown on /alerts/settings/). Receivers recompute it, compare
  in constant time and reject stale timestamps (say, older than 5 minutes).

Any 2xx answer counts as delivered; anything else, a timeout or a refused connection is an
error worth retrying. Redirects are not followed. Unless private hosts are allowed
(`WEBHOOK_ALLOW_PRIVATE_HOSTS`, on in development), a URL whose host resolves to a loopback,
private, link-local or otherwise reserved address is refused before connecting. Secrets are
never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

SIGNATURE_HEADER = "X-ChartInsight-Signature"
TIMESTAMP_HEADER = "X-ChartInsight-Timestamp"
DELIVERY_HEADER = "X-ChartInsight-Delivery"
USER_AGENT = "ChartInsight-Webhook/1"

BAD_SCHEME = "webhook URL must start with http:// or https://"
NO_HOST = "webhook URL has no host"
UNRESOLVABLE = "webhook host {host!r} does not resolve"
PRIVATE_HOST = "webhook host {host!r} resolves to a private or reserved address ({address})"
HTTP_STATUS = "webhook answered HTTP {status}"
TRANSPORT = "webhook request failed: {error}"


class WebhookError(Exception):
    """A webhook that cannot be (or was not) delivered. `retryable` is False for a URL that
    can never work (bad scheme, refused host)."""

    def __init__(self, message: str, *, retryable: bool, status_code: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class WebhookResponse:
    status_code: int


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 over `<timestamp>.<body>` keyed with `secret`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def signature_valid(*, secret: str, timestamp: int, body: bytes, header: str) -> bool:
    """What a receiver checks (constant-time comparison)."""
    return hmac.compare_digest(signature(secret=secret, timestamp=timestamp, body=body), header)


def url_check(url: str, *, allow_private: bool) -> None:
    """Raises WebhookError (not retryable) for a URL the server must not call."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookError(BAD_SCHEME, retryable=False)
    host = parts.hostname
    if not host:
        raise WebhookError(NO_HOST, retryable=False)
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise WebhookError(UNRESOLVABLE.format(host=host), retryable=True) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise WebhookError(PRIVATE_HOST.format(host=host, address=address), retryable=False)


def webhook_post(
    *,
    url: str,
    secret: str,
    body: bytes,
    delivery_id: int,
    timeout: float,
    allow_private: bool,
    now: float | None = None,
) -> WebhookResponse:
    """Signs and POSTs `body`; returns the response of a 2xx answer, raises WebhookError."""
    url_check(url, allow_private=allow_private)
    timestamp = int(now if now is not None else time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        DELIVERY_HEADER: str(delivery_id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret=secret, timestamp=timestamp, body=body),
    }
    try:
        response = httpx.post(
            url, content=body, headers=headers, timeout=timeout, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
        raise WebhookError(TRANSPORT.format(error=error), retryable=True) from None
    if not 200 <= response.status_code < 300:
        raise WebhookError(
            HTTP_STATUS.format(status=response.status_code),
            retryable=True,
            status_code=response.status_code,
        )
    return WebhookResponse(status_code=response.status_code)
