"""The Kiwoom REST API client (also speaks to the project's own Kiwoom simulator).

Protocol (see the Kiwoom REST documentation): every call is a POST with a JSON body; the TR is
chosen by the `api-id` header; `authorization: Bearer <token>`; pages continue with the request
headers `cont-yn: Y` and `next-key: <value>` copied from the previous response's headers. Chart
pages run newest-first. `return_code` 0 is success; anything else is an error, never "no data".

Shared between processes through Redis (`settings.REDIS_URL`):
- the access token (one per base URL and app key), re-issued under a lock shortly before its
  `expires_dt` (KST), and at once on return code 8005 or HTTP 401;
- the rate limiter: a GCRA-style slot reservation, so all processes together send at most
  `KIWOOM_MAX_RPS` requests per second.

Keys and tokens never appear in logs, exception messages or reprs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import redis
from django.conf import settings

from . import krx_calendar
from .krx_calendar import INTRADAY_MINUTES, KST, UNKNOWN_TIMEFRAME, period_start

logger = logging.getLogger(__name__)

UTC = dt.UTC

TOKEN_PATH = "/oauth2/token"
CHART_PATH = "/api/dostk/chart"
STOCK_INFO_PATH = "/api/dostk/stkinfo"

# Timeframe code -> (api-id, tic_scope for minute charts, response list key).
CHART_TRS: dict[str, tuple[str, str | None, str]] = {
    "5m": ("ka10080", "5", "stk_min_pole_chart_qry"),
    "30m": ("ka10080", "30", "stk_min_pole_chart_qry"),
    "1h": ("ka10080", "60", "stk_min_pole_chart_qry"),
    "1d": ("ka10081", None, "stk_dt_pole_chart_qry"),
    "1w": ("ka10082", None, "stk_stk_pole_chart_qry"),
    "1mo": ("ka10083", None, "stk_mth_pole_chart_qry"),
}
# ka10099 `mrkt_tp` per market.
MARKET_CODES = {"KOSPI": "0", "KOSDAQ": "10"}
# Daily rows carry `trde_prica` in million KRW; weekly and monthly rows in KRW
# (docs/architecture.md#market-data-conventions).
TRADED_VALUE_MULTIPLIER = {"1d": 1_000_000, "1w": 1, "1mo": 1}

# Whether ka10080's `cntr_tm` labels a bar by its START (09:00:00 = the session's first bar) or
# its end is not documented by Kiwoom (docs/architecture.md#market-data-conventions). The simulator
# labels starts, as `Candle.ts` stores them; verify against the live API during a session
# (the first bar of the day is stamped 09:00:00 if this holds) and flip this if it does not.
MINUTE_STAMP_IS_BAR_START = True

RETURN_CODE_RATE_LIMIT = 1700
RETURN_CODE_BAD_TOKEN = 8005
# 8005 token invalid, 8003 token lookup failed: both mean "issue a new token".
RETURN_CODES_BAD_TOKEN = (8003, RETURN_CODE_BAD_TOKEN)
RETURN_CODES_UNKNOWN_STOCK = (1901, 1902)
RETURN_CODES_BAD_INPUT = (1511, 1517)

TOKEN_REFRESH_MARGIN = dt.timedelta(minutes=5)
TOKEN_LOCK_TIMEOUT_SECONDS = 30
MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 8.0
MAX_PAGES = 2_000
# What a chart row may hold (docs/architecture.md#market-data-conventions): anything outside is a
# broken or hostile answer, refused with the row named, never stored.
FIRST_BAR_DATE = dt.date(1980, 1, 1)  # KOSPI's base date is 1980-01-04; no KRX bar is older
MAX_PRICE_KRW = 100_000_000  # ~35x the highest KRX share price ever quoted
MAX_VOLUME_SHARES = 10**12  # ~100x the shares any KRX stock has listed
MAX_TRADED_VALUE_KRW = 10**16  # ~100x a month of the most traded KRX stock; fits a bigint
# A touch above 1/R between request slots, so network jitter never packs R+1 requests into
# one second at the server.
RATE_SPACING_FACTOR = 1.02

ERROR_UNAVAILABLE = "Kiwoom API unavailable after {attempts} attempts ({api_id}): {reason}"
ERROR_RETURN_CODE = "Kiwoom {api_id} failed: return_code {code} {message}"
ERROR_UNKNOWN_STOCK = "Unknown stock code {code!r} (Kiwoom return_code {return_code})"
ERROR_MALFORMED = "Malformed Kiwoom {api_id} response: {reason}"
ERROR_TOKEN = "Kiwoom token request failed: {reason}"
ERROR_TOO_MANY_PAGES = "Kiwoom {api_id} {code} still continuing after {pages} pages"
ERROR_BAD_ROW = "{code} page {page} row {row} ({stamp}): {reason}"
ERROR_REPEATED_KEY = (
    "{code} page {page}: next-key {key!r} was already followed (cont-yn loop); stopped"
)
ERROR_NO_NEW_BARS = "{code} page {page} added no new bars but cont-yn says more follow; stopped"
ERROR_REDIS = (
    "Redis (REDIS_URL) is unreachable ({error}); the Kiwoom client keeps its shared token and "
    "rate limit there"
)


class KiwoomError(Exception):
    """Any failure talking to Kiwoom. Messages never contain keys or tokens."""


class KiwoomUnavailable(KiwoomError):
    """Timeouts, transport errors, 5xx, 429/1700 or malformed bodies that outlived the retries."""


class KiwoomApiError(KiwoomError):
    """A non-zero `return_code` that retrying cannot fix."""

    def __init__(self, message: str, *, return_code: int | None = None):
        super().__init__(message)
        self.return_code = return_code


class KiwoomUnknownStock(KiwoomApiError):
    """Kiwoom has no such stock (return codes 1901/1902)."""


class KiwoomMalformedResponse(KiwoomError):
    """A body that is not the documented shape (bad JSON, missing list, unparseable field)."""


class _Retryable(Exception):
    def __init__(self, reason: str, *, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class _BadToken(Exception):
    pass


# --- Parsing -----------------------------------------------------------------------------


def parse_number(value, *, field: str = "value") -> float | None:
    """Kiwoom's numeric strings: '+61000' / '-78800' (sign = direction vs the previous close,
    the magnitude is the value), '00000197' (zero padding), '1,234', '' (absent -> None).
    'nan', 'inf' and '1e309' parse to NaN / infinity: callers bound what they accept."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return abs(float(value))
    text = str(value).strip().replace(",", "")
    if text == "":
        return None
    text = text.lstrip("+-")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{field}={value!r} is not a number") from None


def parse_int(value, *, field: str = "value") -> int | None:
    number = parse_number(value, field=field)
    if number is None:
        return None
    if not math.isfinite(number):
        raise ValueError(f"{field}={value!r} is not a finite number")
    return int(round(number))


def parse_count(value, *, field: str, limit: float) -> float | None:
    """An unsigned quantity (shares, KRW): '' -> None; a minus sign, NaN, infinity or a value
    above `limit` raise ValueError."""
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if not text:
            return None
        if text[0] == "-":
            raise ValueError(f"{field}={value!r} is negative")
        try:
            number = float(text.lstrip("+"))
        except ValueError:
            raise ValueError(f"{field}={value!r} is not a number") from None
    else:
        number = parse_number(value, field=field)
        if number is None:
            return None
    if not number <= limit:  # NaN fails every comparison
        raise ValueError(f"{field}={value!r} is outside 0…{limit:,.0f}")
    return number


def parse_kst_date(value: str, *, field: str = "dt") -> dt.date:
    text = str(value).strip()
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        raise ValueError(f"{field}={value!r} is not a YYYYMMDD date") from None


def _parse_kst_wall_clock(value: str, *, field: str) -> dt.datetime:
    """'YYYYMMDDHHMMSS' -> naive KST wall-clock datetime."""
    text = str(value).strip()
    try:
        return dt.datetime.strptime(text[:14], "%Y%m%d%H%M%S")
    except ValueError:
        raise ValueError(f"{field}={value!r} is not a YYYYMMDDHHMMSS time") from None


def parse_kst_datetime(value: str, *, field: str = "cntr_tm") -> dt.datetime:
    """'YYYYMMDDHHMMSS' KST wall clock -> aware UTC datetime."""
    naive = _parse_kst_wall_clock(value, field=field)
    try:
        return naive.replace(tzinfo=KST).astimezone(UTC)
    except OverflowError:  # year 1 or 9999 at the edge of datetime's range
        raise ValueError(f"{field}={value!r} is out of range") from None


def kst_midnight(day: dt.date) -> dt.datetime:
    """00:00 KST of `day`, as aware UTC."""
    return dt.datetime.combine(day, dt.time(), tzinfo=KST).astimezone(UTC)


def current_trading_day(now: dt.datetime | None = None) -> dt.date:
    """The KST date of `now` (default: the wall clock) when KRX trades that day, else the last
    trading date before it: the newest date a chart row may carry."""
    today = (now or dt.datetime.now(UTC)).astimezone(KST).date()
    if krx_calendar.is_trading_day(today):
        return today
    return krx_calendar.previous_trading_day(today)


@dataclass(frozen=True, slots=True)
class Bar:
    """One parsed chart row. `ts` is the bar start (aware UTC, see `marketdata.krx_calendar`);
    prices KRW (adjusted), volume shares, traded_value KRW or None when Kiwoom sends none."""

    ts: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: int
    traded_value: int | None


_PRICE_FIELDS = (("open", "open_pric"), ("high", "high_pric"), ("low", "low_pric"))


def parse_bar(row: dict, *, timeframe: str, latest: dt.date | None = None) -> Bar:
    """One chart row of either field generation -> `Bar`. Unknown keys are ignored.

    `latest` is the current trading day (KST; default `current_trading_day()`). Raises
    ValueError, naming the field and its value, on a missing or unparseable field, a date before
    FIRST_BAR_DATE or after `latest` (weekly/monthly: a week or month after `latest`'s), a
    price that is not finite or outside (0, MAX_PRICE_KRW], High < Low or OHLC otherwise
    inconsistent, a negative, non-finite or out-of-range volume (MAX_VOLUME_SHARES) or traded
    value (MAX_TRADED_VALUE_KRW).

    A halted day (거래정지) comes as open = high = low = 0 with the standing price in
    `cur_prc` and no volume: it is returned as a flat bar at that price with volume 0
    (docs/architecture.md#market-data-conventions). Zero open/high/low with volume is refused.
    """
    if not isinstance(row, dict):
        raise ValueError(f"row is {type(row).__name__}, not an object")
    latest = latest or current_trading_day()
    if timeframe in INTRADAY_MINUTES:
        stamp = row.get("cntr_tm") or row.get("cntr_dt")
        if not stamp:
            raise ValueError("cntr_tm missing")
        wall_clock = _parse_kst_wall_clock(stamp, field="cntr_tm")
        _check_date(
            wall_clock.date(), timeframe=timeframe, latest=latest, field="cntr_tm", raw=stamp
        )
        ts = wall_clock.replace(tzinfo=KST).astimezone(UTC)
        if not MINUTE_STAMP_IS_BAR_START:
            # The bar holding the instant just before its end (the 15:00 1h bar ends at 15:30).
            start = krx_calendar.bar_start_for(timeframe, ts - dt.timedelta(seconds=1))
            if start is None:
                raise ValueError(f"cntr_tm={stamp!r} ends no bar of the session")
            ts = start.astimezone(UTC)
    else:
        if not row.get("dt"):
            raise ValueError("dt missing")
        day = parse_kst_date(row["dt"])
        _check_date(day, timeframe=timeframe, latest=latest, field="dt", raw=row["dt"])
        ts = kst_midnight(period_start(timeframe, day))
    raw_close = row.get("cur_prc")
    close = parse_number(raw_close, field="cur_prc")
    if close is None:
        raise ValueError("cur_prc missing")
    if not 0 < close <= MAX_PRICE_KRW:  # NaN fails every comparison
        raise ValueError(f"cur_prc={raw_close!r} is not a price (0 < price ≤ {MAX_PRICE_KRW:,})")
    prices = {}
    for name, key in _PRICE_FIELDS:
        value = parse_number(row.get(key), field=key)
        if value is None:
            raise ValueError(f"{key} missing")
        if not 0 <= value <= MAX_PRICE_KRW:
            raise ValueError(
                f"{key}={row.get(key)!r} is not a price (0 < price ≤ {MAX_PRICE_KRW:,})"
            )
        prices[name] = value
    volume = parse_count(row.get("trde_qty"), field="trde_qty", limit=MAX_VOLUME_SHARES)
    if volume is None:
        raise ValueError("trde_qty missing")
    volume = int(round(volume))
    traded_value = None
    if timeframe in TRADED_VALUE_MULTIPLIER:
        multiplier = TRADED_VALUE_MULTIPLIER[timeframe]
        raw_value = parse_count(
            row.get("trde_prica"), field="trde_prica", limit=MAX_TRADED_VALUE_KRW / multiplier
        )
        if raw_value is not None:
            traded_value = int(round(raw_value * multiplier))
    if prices["open"] == prices["high"] == prices["low"] == 0:
        if volume:
            raise ValueError(f"open, high and low are 0 but trde_qty={row.get('trde_qty')!r}")
        prices = dict.fromkeys(prices, close)  # halted: no trade, the standing price all day
    elif not (
        0 < prices["low"] <= min(prices["open"], close)
        and prices["high"] >= max(prices["open"], close)
    ):
        raise ValueError(f"inconsistent OHLC {prices | {'close': close}}")
    return Bar(ts=ts, volume=volume, traded_value=traded_value, close=close, **prices)


def _check_date(day: dt.date, *, timeframe: str, latest: dt.date, field: str, raw) -> None:
    """A bar's date lies in [FIRST_BAR_DATE, the current trading day `latest`]. Weekly and
    monthly rows are dated by a day inside their period, so for them only the period may not
    come after the current one."""
    if FIRST_BAR_DATE <= day <= latest:
        return
    later_day_of_the_current_period = (
        day > latest
        and timeframe in ("1w", "1mo")
        and period_start(timeframe, day) <= period_start(timeframe, latest)
    )
    if later_day_of_the_current_period:
        return
    raise ValueError(
        f"{field}={raw!r} is outside {FIRST_BAR_DATE}…{latest} (the current trading day)"
    )


@dataclass(frozen=True, slots=True)
class StockInfo:
    """One ka10099 item. listed_shares in shares, last_price in KRW (previous close)."""

    code: str
    name: str
    market: str
    industry: str
    listed_shares: int | None
    last_price: float | None
    state: str
    audit_info: str
    order_warning: str
    nxt_enabled: bool
    listed_on: dt.date | None
    market_name: str


def parse_stock_info(item: dict, *, market: str) -> StockInfo:
    code = str(item.get("code") or "").strip()
    name = str(item.get("name") or "").strip()
    if not code or not name:
        raise ValueError("code or name missing")
    reg_day = str(item.get("regDay") or "").strip()
    return StockInfo(
        code=code,
        name=name,
        market=market,
        industry=str(item.get("upName") or "").strip(),
        listed_shares=parse_int(item.get("listCount"), field="listCount"),
        last_price=parse_number(item.get("lastPrice"), field="lastPrice"),
        state=str(item.get("state") or "").strip(),
        audit_info=str(item.get("auditInfo") or "").strip(),
        order_warning=str(item.get("orderWarning") or "0").strip() or "0",
        nxt_enabled=str(item.get("nxtEnable") or "").strip().upper() == "Y",
        listed_on=parse_kst_date(reg_day, field="regDay") if reg_day else None,
        market_name=str(item.get("marketName") or "").strip(),
    )


# --- Shared state in Redis ---------------------------------------------------------------

# KEYS[1] = limiter key; ARGV[1] = spacing in microseconds. Returns the wait in microseconds
# before the reserved slot. Redis TIME is the one clock every process shares.
_RESERVE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local spacing = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next_tat = tat + spacing
local ttl_ms = math.floor((next_tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', ttl_ms)
return tat - now
"""


class RateLimiter:
    """At most `max_rps` requests per second across every process sharing `key` in Redis."""

    def __init__(self, redis_client: redis.Redis, key: str, max_rps: float):
        if max_rps <= 0:
            raise ValueError("KIWOOM_MAX_RPS must be positive")
        self.redis = redis_client
        self.key = key
        self.max_rps = max_rps
        self._script = redis_client.register_script(_RESERVE_SLOT)

    def acquire(self) -> float:
        """Blocks until this caller's slot; returns the seconds waited."""
        spacing_us = int(1_000_000 * RATE_SPACING_FACTOR / self.max_rps)
        wait = int(self._script(keys=[self.key], args=[spacing_us])) / 1_000_000
        if wait > 0:
            time.sleep(wait)
        return wait


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


# --- The client --------------------------------------------------------------------------


class KiwoomClient:
    """Talks to `base_url` with one shared token and one shared rate limiter.

    `requests` counts HTTP requests sent by this instance (token calls included); `on_request`
    (if given) is called after each one, for progress output.
    """

    def __init__(
        self,
        *,
        base_url: str,
        appkey: str,
        secretkey: str,
        max_rps: float,
        timeout: float,
        redis_url: str,
        backoff_base: float = BACKOFF_BASE_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
    ):
        self.base_url = base_url.rstrip("/")
        self._appkey = appkey
        self._secretkey = secretkey
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.max_attempts = max_attempts
        self.redis = redis.Redis.from_url(redis_url)
        fingerprint = _fingerprint(self.base_url, appkey)
        self._token_key = f"kiwoom:token:{fingerprint}"
        self._token_lock_key = f"kiwoom:token-lock:{fingerprint}"
        self.limiter = RateLimiter(self.redis, f"kiwoom:rate:{fingerprint}", max_rps)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self.requests = 0
        self.token_issues = 0
        self.on_request: Callable[[], None] | None = None

    @classmethod
    def from_settings(cls, **overrides) -> KiwoomClient:
        options = {
            "base_url": settings.KIWOOM_BASE_URL,
            "appkey": settings.KIWOOM_APPKEY,
            "secretkey": settings.KIWOOM_SECRETKEY,
            "max_rps": settings.KIWOOM_MAX_RPS,
            "timeout": settings.KIWOOM_TIMEOUT_SECONDS,
            "redis_url": settings.REDIS_URL,
            "max_attempts": getattr(settings, "KIWOOM_RETRY_ATTEMPTS", MAX_ATTEMPTS),
            "backoff_base": getattr(settings, "KIWOOM_RETRY_BASE_SECONDS", BACKOFF_BASE_SECONDS),
        }
        options.update(overrides)
        return cls(**options)

    def __repr__(self) -> str:
        return f"<KiwoomClient {self.base_url} max_rps={self.limiter.max_rps}>"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KiwoomClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- token ---

    def _cached_token(self) -> tuple[str, float] | None:
        raw = self.redis.get(self._token_key)
        if not raw:
            return None
        data = json.loads(raw)
        return data["token"], float(data["expires_at"])

    def token(self) -> str:
        """The shared access token, issued (once, under a Redis lock) when absent or expiring."""
        with _redis_errors():
            cached = self._cached_token()
            if cached and cached[1] - TOKEN_REFRESH_MARGIN.total_seconds() > time.time():
                return cached[0]
            return self._refresh_token(stale=cached[0] if cached else None)

    def _refresh_token(self, *, stale: str | None) -> str:
        lock = self.redis.lock(
            self._token_lock_key,
            timeout=TOKEN_LOCK_TIMEOUT_SECONDS,
            blocking_timeout=TOKEN_LOCK_TIMEOUT_SECONDS + 5,
        )
        if not lock.acquire():
            raise KiwoomUnavailable(ERROR_TOKEN.format(reason="token lock not acquired in time"))
        try:
            # Another process may have refreshed while this one waited for the lock.
            cached = self._cached_token()
            margin = TOKEN_REFRESH_MARGIN.total_seconds()
            if cached and cached[0] != stale and cached[1] - margin > time.time():
                return cached[0]
            token, expires_at = self._issue_token()
            ttl = max(1, int(expires_at - time.time()))
            self.redis.set(
                self._token_key, json.dumps({"token": token, "expires_at": expires_at}), ex=ttl
            )
            return token
        finally:
            try:
                lock.release()
            except redis.exceptions.LockError:
                logger.warning("Kiwoom token lock expired before release")

    def _issue_token(self) -> tuple[str, float]:
        body = {
            "grant_type": "client_credentials",
            "appkey": self._appkey,
            "secretkey": self._secretkey,
        }
        data, _ = self._send("au10001", TOKEN_PATH, body, headers={}, authorized=False)
        token = data.get("token")
        expires_dt = data.get("expires_dt")
        if not token or not expires_dt:
            raise KiwoomMalformedResponse(
                ERROR_MALFORMED.format(api_id="au10001", reason="token or expires_dt missing")
            )
        try:
            expires_at = parse_kst_datetime(expires_dt, field="expires_dt").timestamp()
        except ValueError as exc:
            raise KiwoomMalformedResponse(
                ERROR_MALFORMED.format(api_id="au10001", reason=str(exc))
            ) from None
        self.token_issues += 1
        logger.info(
            "Kiwoom token issued for %s, expires %s KST", self.base_url, str(expires_dt)[:14]
        )
        return str(token), expires_at

    # --- transport ---

    def _send(
        self, api_id: str, path: str, body: dict, *, headers: dict, authorized: bool
    ) -> tuple[dict, httpx.Headers]:
        """One logical call with retries. Returns (JSON body, response headers)."""
        token = None
        refreshed = False
        last_reason = ""
        for attempt in range(1, self.max_attempts + 1):
            request_headers = {
                "Content-Type": "application/json;charset=UTF-8",
                "api-id": api_id,
                **headers,
            }
            if authorized:
                token = self.token()
                request_headers["authorization"] = f"Bearer {token}"
            try:
                return self._attempt(api_id, path, body, request_headers)
            except _BadToken:
                # One immediate refresh per call; a second rejection is a real error.
                if not authorized or refreshed:
                    raise KiwoomApiError(
                        ERROR_RETURN_CODE.format(
                            api_id=api_id, code=RETURN_CODE_BAD_TOKEN, message="token rejected"
                        ),
                        return_code=RETURN_CODE_BAD_TOKEN,
                    ) from None
                refreshed = True
                self._refresh_token(stale=token)
                continue
            except _Retryable as exc:
                last_reason = str(exc)
                if attempt == self.max_attempts:
                    break
                delay = min(BACKOFF_CAP_SECONDS, self.backoff_base * 2 ** (attempt - 1))
                delay = delay / 2 + random.uniform(0, delay / 2)
                if exc.retry_after:
                    delay = max(delay, min(exc.retry_after, BACKOFF_CAP_SECONDS))
                logger.warning(
                    "Kiwoom %s attempt %d/%d failed (%s); retrying in %.2f s",
                    api_id,
                    attempt,
                    self.max_attempts,
                    last_reason,
                    delay,
                )
                time.sleep(delay)
        raise KiwoomUnavailable(
            ERROR_UNAVAILABLE.format(attempts=self.max_attempts, api_id=api_id, reason=last_reason)
        )

    def _attempt(self, api_id: str, path: str, body: dict, headers: dict):
        self.limiter.acquire()
        self.requests += 1
        try:
            response = self._http.post(path, json=body, headers=headers)
        except httpx.TimeoutException:
            raise _Retryable(f"timeout after {self.timeout:g} s") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"{type(exc).__name__}") from None
        finally:
            if self.on_request:
                self.on_request()
        status = response.status_code
        if status == 401:
            raise _BadToken()
        if status == 429:
            raise _Retryable("HTTP 429", retry_after=_retry_after(response))
        if status >= 500:
            raise _Retryable(f"HTTP {status}")
        try:
            data = response.json()
        except ValueError:
            if status >= 400:
                raise KiwoomApiError(
                    ERROR_RETURN_CODE.format(api_id=api_id, code=f"HTTP {status}", message="")
                ) from None
            raise _Retryable("malformed JSON body") from None
        if not isinstance(data, dict):
            raise _Retryable("JSON body is not an object")
        try:
            code = int(str(data.get("return_code")).strip())
        except ValueError:
            raise _Retryable("return_code missing") from None
        message = str(data.get("return_msg") or "")[:200]
        if code == RETURN_CODE_RATE_LIMIT:
            raise _Retryable(f"return_code 1700 {message}", retry_after=_retry_after(response))
        if code in RETURN_CODES_BAD_TOKEN:
            raise _BadToken()
        if code != 0 or status >= 400:
            error_class = KiwoomUnknownStock if code in RETURN_CODES_UNKNOWN_STOCK else None
            if error_class:
                raise error_class(
                    ERROR_UNKNOWN_STOCK.format(code=body.get("stk_cd"), return_code=code),
                    return_code=code,
                )
            raise KiwoomApiError(
                ERROR_RETURN_CODE.format(api_id=api_id, code=code, message=message),
                return_code=code,
            )
        return data, response.headers

    def call(
        self, api_id: str, path: str, body: dict, *, next_key: str | None = None
    ) -> tuple[dict, str | None]:
        """One page of a TR. Returns (body, next_key or None when there is no next page)."""
        headers = {"cont-yn": "Y" if next_key else "N", "next-key": next_key or ""}
        with _redis_errors():
            data, response_headers = self._send(
                api_id, path, body, headers=headers, authorized=True
            )
        more = response_headers.get("cont-yn", "N").strip().upper() == "Y"
        key = response_headers.get("next-key", "").strip()
        return data, (key if more and key else None)

    # --- TRs ---

    def stock_list(self, *, market: str) -> list[StockInfo]:
        """All ka10099 items of one market (KOSPI or KOSDAQ), every page."""
        mrkt_tp = MARKET_CODES[market]
        body = {"mrkt_tp": mrkt_tp}
        items: dict[str, StockInfo] = {}
        next_key = None
        followed: set[str] = set()
        for page in range(1, MAX_PAGES + 1):
            data, next_key = self.call("ka10099", STOCK_INFO_PATH, body, next_key=next_key)
            rows = data.get("list")
            if not isinstance(rows, list):
                raise KiwoomMalformedResponse(
                    ERROR_MALFORMED.format(api_id="ka10099", reason="'list' missing")
                )
            for row in rows:
                if isinstance(row, dict) and str(row.get("marketCode", mrkt_tp)) != mrkt_tp:
                    continue  # a market query may carry other markets' rows
                try:
                    info = parse_stock_info(row, market=market)
                except (ValueError, AttributeError) as exc:
                    raise KiwoomMalformedResponse(
                        ERROR_MALFORMED.format(api_id="ka10099", reason=str(exc))
                    ) from None
                items[info.code] = info
            if not next_key:
                return list(items.values())
            _check_next_key("ka10099", market, page, next_key, followed)
        raise KiwoomError(
            ERROR_TOO_MANY_PAGES.format(api_id="ka10099", code=market, pages=MAX_PAGES)
        )

    def chart_pages(
        self,
        *,
        code: str,
        timeframe: str,
        since: dt.datetime,
        base_date: dt.date | None = None,
        latest: dt.date | None = None,
    ) -> Iterator[list[Bar]]:
        """Pages of bars of one series, newest page first (bars within a page newest first),
        until a page reaches back to `since` (aware) or Kiwoom has no more pages.

        Minute charts always start at "now"; daily/weekly/monthly at `base_date` (default:
        today in KST). Rows repeated across pages are dropped (the first copy wins). `latest`:
        the current trading day rows are checked against (default `current_trading_day()`).

        A page is parsed whole before it is yielded, so a bad row (KiwoomMalformedResponse
        naming its page, row and stamp) stops the series with nothing of that page returned.
        A `cont-yn: Y` answer that repeats an already followed next-key, or a page that adds no
        new bar while claiming more, also ends it with KiwoomMalformedResponse.
        """
        if timeframe not in CHART_TRS:
            raise ValueError(UNKNOWN_TIMEFRAME.format(timeframe=timeframe))
        api_id, tic_scope, list_key = CHART_TRS[timeframe]
        body = {"stk_cd": code, "upd_stkpc_tp": "1"}
        if tic_scope:
            body["tic_scope"] = tic_scope
        else:
            base = base_date or dt.datetime.now(KST).date()
            body["base_dt"] = base.strftime("%Y%m%d")
        latest = latest or current_trading_day()
        seen: set[dt.datetime] = set()
        followed: set[str] = set()
        next_key = None
        for page in range(1, MAX_PAGES + 1):
            data, next_key = self.call(api_id, CHART_PATH, body, next_key=next_key)
            rows = data.get(list_key)
            if rows is None:
                rows = []  # Kiwoom omits the list when a code has no bars at all
            if not isinstance(rows, list):
                raise KiwoomMalformedResponse(
                    ERROR_MALFORMED.format(api_id=api_id, reason=f"{list_key} is not a list")
                )
            bars = []
            for index, row in enumerate(rows, start=1):
                if isinstance(row, dict) and not any(str(v).strip() for v in row.values()):
                    continue  # Kiwoom pads some pages with all-empty rows
                try:
                    bar = parse_bar(row, timeframe=timeframe, latest=latest)
                except ValueError as exc:
                    reason = ERROR_BAD_ROW.format(
                        code=code, page=page, row=index, stamp=_row_stamp(row), reason=exc
                    )
                    raise KiwoomMalformedResponse(
                        ERROR_MALFORMED.format(api_id=api_id, reason=reason)
                    ) from None
                if bar.ts in seen:
                    continue
                seen.add(bar.ts)
                bars.append(bar)
            if bars:
                yield bars
            oldest = min((b.ts for b in bars), default=None)
            if not next_key or (oldest is not None and oldest <= since):
                return
            if not bars:
                raise KiwoomMalformedResponse(
                    ERROR_MALFORMED.format(
                        api_id=api_id, reason=ERROR_NO_NEW_BARS.format(code=code, page=page)
                    )
                )
            _check_next_key(api_id, code, page, next_key, followed)
        raise KiwoomError(ERROR_TOO_MANY_PAGES.format(api_id=api_id, code=code, pages=MAX_PAGES))


def _check_next_key(api_id: str, code: str, page: int, next_key: str, followed: set[str]) -> None:
    """Refuses to follow a next-key twice: a server answering `cont-yn: Y` with a key it gave
    before would be followed until MAX_PAGES, spending the shared rate budget."""
    if next_key in followed:
        raise KiwoomMalformedResponse(
            ERROR_MALFORMED.format(
                api_id=api_id,
                reason=ERROR_REPEATED_KEY.format(code=code, page=page, key=next_key[:40]),
            )
        )
    followed.add(next_key)


def _row_stamp(row) -> str:
    """How an error names a chart row: its date or time field as Kiwoom sent it."""
    if not isinstance(row, dict):
        return "not an object"
    for key in ("dt", "cntr_tm", "cntr_dt"):
        if row.get(key):
            return f"{key}={str(row[key])[:20]!r}"
    return "no date"


@contextmanager
def _redis_errors() -> Iterator[None]:
    """Redis holds the shared token and rate limiter; without it no request may be sent."""
    try:
        yield
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        raise KiwoomUnavailable(ERROR_REDIS.format(error=type(exc).__name__)) from None


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
