"""A Kiwoom REST API simulator over HTTP, serving `SimulatedMarket` with Kiwoom's protocol.

Endpoints (all POST with a JSON body, as Kiwoom's; the client side is `marketdata/kiwoom.py`):

- `/oauth2/token` (au10001): `grant_type=client_credentials`, `appkey`, `secretkey` → `token`,
  `token_type` "bearer", `expires_dt` (KST `YYYYMMDDHHMMSS`, on the REAL clock, because clients
  compare it with theirs), `return_code` 0, `return_msg`. Any non-empty key pair is accepted
  unless the server was given one. `/oauth2/revoke` (au10002) revokes a token.
- `/api/dostk/stkinfo` with header `api-id: ka10099`: stock list of `mrkt_tp` "0" (KOSPI) or
  "10" (KOSDAQ) under the list key `list` (other documented markets: an empty list).
- `/api/dostk/chart` with `api-id` ka10080 (minute: `stk_cd`, `tic_scope` 5/10/15/30/45/60,
  `upd_stkpc_tp`, optional `base_dt`), ka10081 (daily), ka10082 (weekly), ka10083 (monthly)
  (`stk_cd`, `base_dt` YYYYMMDD, `upd_stkpc_tp`). List keys `stk_min_pole_chart_qry`,
  `stk_dt_pole_chart_qry`, `stk_stk_pole_chart_qry`, `stk_mth_pole_chart_qry`; the body also
  carries `stk_cd`. Rows run newest-first from `base_dt` (its whole day) or, for minutes, from
  "now"; nothing after "now" exists and the bar containing it is forming.

Row formats (every value a string):
- daily-type rows: `dt` (KST date of the FIRST trading day inside the bar — for 1w/1mo that is
  not necessarily the Monday or the 1st; normalise with `krx_calendar.period_start`),
  `open_pric`, `high_pric`, `low_pric`, `cur_prc` (close), `trde_qty` (shares), `trde_prica`
  (ka10081: million KRW, rounded; ka10082/ka10083: KRW), unsigned prices;
- minute rows: `cntr_tm` (KST `YYYYMMDDHHMMSS` of the bar START), prices signed against the
  previous session's close (`+` above, `-` below, none when equal), `trde_qty`; no traded value;
- the current field generation adds `pred_pre` (signed change vs the previous bar's close for
  daily-type rows, vs the previous session's close for minute rows), `pred_pre_sig` (1 upper
  limit, 2 up, 3 unchanged, 4 lower limit, 5 down), `trde_tern_rt` (daily-type) and
  `acc_trde_qty` (minute: the day's cumulative volume); the legacy generation
  (`fields="legacy"`) carries `upd_stkpc_tp`, `upd_rt`, `bic_inds_tp`, `sm_inds_tp`,
  `stk_infr`, `upd_stkpc_event` (daily-type), `pred_close_pric`, all empty. ka10099 items in the
  legacy generation lack `listCount`, `lastPrice`, `marketName` and `companyClassName`.

Paging: fixed-size pages; response headers `api-id`, `cont-yn` (Y when more rows follow) and
`next-key`; the next request repeats the body with request headers `cont-yn: Y` and that
`next-key`. Keys are cursors (the next row's time), so pages stay contiguous while "now" moves.

Errors: body `{"return_code": N, "return_msg": "..."}` — 1501/1504/1505 api-id missing /
not served here / unknown, 1511 required input missing, 1517 bad input format, 1902 unknown stock,
8011/8012/8020/8001/8002 token request errors: HTTP 200; 1513/1514 authorization header missing or
malformed and 8005 bad or expired token: HTTP 401; 1700 rate limit: HTTP 429.

Rate limit: a token bucket per app key over the TR (non-token) requests, `max_rps` per second,
burst `max(1, max_rps)`; 0 disables it.

Fault switches (`Faults`, settable at start and at run time) apply to TR requests, except
latency, which delays every API request: `latency_ms`; `fail_next` (next N requests) and
`fail_rate` (a fraction, drawn from `fail_seed`) answered with HTTP `fail_status`;
`rate_limit_next` (next N answered 1700); `malformed_next` (next N successful responses carry
truncated JSON); `duplicate_rows` (a continuation page starts with the previous page's last row);
`token_lifetime_s` for new tokens; the action `expire_tokens` expires every token now.
Hostile answers, for the client's defences: `corrupt_fields` (e.g. `{"cur_prc": "inf"}`)
overwrite those fields of the chart row `corrupt_row` places from the newest (0-based; -1: off)
of `corrupt_code` (empty: every stock), on every request that serves that row; `stuck_next_key`
(continuations answer `cont-yn: Y` with the next-key they were asked for, forever; charts and
ka10099); `repeat_pages` (chart continuations repeat the first page's rows under a fresh
next-key each time).

Control endpoints (no auth; for tests and the bench): `GET /_simulator/state`, `GET
/_simulator/requests?since=N`, `POST /_simulator/faults` (any `Faults` field, `page_size`,
`max_rps`, `fields`, `expire_tokens: true`), `POST /_simulator/clock` (`{"now": ISO}` freezes,
`{"now": ISO, "running": true}` runs from there, `{"now": null}` real time, `{"advance_seconds":
N}`), `POST /_simulator/reset` (faults and config back to the start values, request log cleared;
`{"tokens": true}` also forgets tokens).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import numpy as np

from marketdata import krx_calendar
from marketdata.krx_calendar import KST
from marketdata.simulator.market import (
    DEFAULT_MINUTE_HISTORY_DAYS,
    KST_OFFSET_S,
    Series,
    SimulatedMarket,
    price_limits,
)
from marketdata.simulator.universe import MARKET_NAMES, UNIVERSE, UNIVERSE_BY_CODE, StockSpec

logger = logging.getLogger(__name__)

OK_MSG = "정상적으로 처리되었습니다"
MSG_MISSING = "필수 입력 값에 값이 존재하지 않습니다 ({field})"
MSG_FORMAT = "입력 값 형식이 올바르지 않습니다 ({field})"
MSG_UNKNOWN_STOCK = "종목정보가 존재하지 않습니다 ({code})"
MSG_RATE_LIMIT = "허용된 요청 개수를 초과하였습니다"
MSG_BAD_TOKEN = "Token이 유효하지 않습니다"
MSG_NO_AUTH = "Header의 authorization 값이 존재하지 않습니다"
MSG_BAD_AUTH = "Header의 authorization 값 형식이 올바르지 않습니다"
MSG_NO_API_ID = "Header의 api-id 값이 존재하지 않습니다"
MSG_API_ID_URI = "api-id가 해당 URI에서 지원되지 않습니다 ({api_id})"
MSG_UNKNOWN_API_ID = "존재하지 않는 api-id 입니다 ({api_id})"
MSG_SERVER_ERROR = "예기치 못한 에러가 발생했습니다 (simulated)"

DEFAULT_MAX_RPS = 5.0
# Page sizes per TR when none is configured (Kiwoom does not document them).
DEFAULT_PAGE_SIZES = {"ka10080": 900, "ka10081": 600, "ka10082": 600, "ka10083": 600}
DEFAULT_LIST_PAGE_SIZE = 2000
TOKEN_LIFETIME_S = 86_400

CHART_TRS = {
    "ka10080": ("minute", "stk_min_pole_chart_qry"),
    "ka10081": ("1d", "stk_dt_pole_chart_qry"),
    "ka10082": ("1w", "stk_stk_pole_chart_qry"),
    "ka10083": ("1mo", "stk_mth_pole_chart_qry"),
}
STKINFO_TRS = {"ka10099", "ka10100"}
# Documented TRs the simulator knows but does not serve on a path (→ 1504, not 1505).
KNOWN_TRS = set(CHART_TRS) | STKINFO_TRS | {"ka10079", "ka10094", "ka10101", "ka20006"}
KNOWN_TRS |= {"ka20007", "ka20008", "au10001", "au10002"}
PATH_TRS = {"/api/dostk/chart": set(CHART_TRS), "/api/dostk/stkinfo": STKINFO_TRS}
MARKET_TYPES = {"0", "10", "3", "8", "30", "50", "5", "4", "6", "9"}
TIC_SCOPES = {"1", "3", "5", "10", "15", "30", "45", "60"}
STOCK_CODE = re.compile(r"^([0-9A-Z]{6})(_NX|_AL)?$")
FIELD_GENERATIONS = ("current", "legacy")


@dataclass
class Faults:
    """Fault switches; see the module docstring. Counts decrement as they fire."""

    latency_ms: int = 0
    fail_next: int = 0
    fail_rate: float = 0.0
    fail_status: int = 500
    fail_seed: int = 0
    rate_limit_next: int = 0
    malformed_next: int = 0
    duplicate_rows: bool = False
    token_lifetime_s: int = TOKEN_LIFETIME_S
    corrupt_code: str = ""
    corrupt_row: int = -1
    corrupt_fields: dict[str, str] = field(default_factory=dict)
    stuck_next_key: bool = False
    repeat_pages: bool = False


@dataclass
class Config:
    """Server settings that tests may change at run time."""

    page_size: int | None = None  # None: DEFAULT_PAGE_SIZES / DEFAULT_LIST_PAGE_SIZE
    max_rps: float = DEFAULT_MAX_RPS
    fields: str = "current"


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class ReturnCodeError(Exception):
    """A request the simulator refuses: answered with Kiwoom's `return_code`, `return_msg`
    (`message`) and HTTP `status`."""

    def __init__(self, return_code: int, message: str, status: int = 200):
        super().__init__(message)
        self.return_code, self.message, self.status = return_code, message, status


@dataclass
class _Token:
    appkey_id: str
    expires_at: float  # Unix seconds


class _Bucket:
    def __init__(self, rate: float):
        self.rate, self.capacity = rate, max(1.0, rate)
        self.tokens, self.updated = self.capacity, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def _key_id(appkey: str) -> str:
    """A short fingerprint of an app key (keys themselves are never stored or shown)."""
    return hashlib.sha256(appkey.encode()).hexdigest()[:10]


class KiwoomSimulator:
    """The protocol, independent of the HTTP transport: `handle(...)` → `Response`.

    market: the SimulatedMarket served; faults/config: initial switches (reset() returns to
    them); appkey/secretkey: when given, the only accepted key pair.
    """

    def __init__(
        self,
        market: SimulatedMarket,
        *,
        faults: Faults | None = None,
        config: Config | None = None,
        appkey: str | None = None,
        secretkey: str | None = None,
    ):
        self.market = market
        self._initial_faults = dataclasses.replace(faults or Faults())
        self._initial_config = dataclasses.replace(config or Config())
        self.faults = dataclasses.replace(self._initial_faults)
        self.config = dataclasses.replace(self._initial_config)
        self._credentials = (appkey, secretkey) if appkey and secretkey else None
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self._tokens_issued = 0
        self._buckets: dict[str, _Bucket] = {}
        self._fail_rng = random.Random(self.faults.fail_seed)
        self._log: list[dict] = []
        self._seq = 0
        self._clock_running = False

    # --- control --------------------------------------------------------------------------

    def reset(self, *, tokens: bool = False) -> None:
        """Faults and config back to their start values; request log and rate buckets cleared."""
        with self._lock:
            self.faults = dataclasses.replace(self._initial_faults)
            self.config = dataclasses.replace(self._initial_config)
            self._fail_rng = random.Random(self.faults.fail_seed)
            self._buckets.clear()
            self._log.clear()
            if tokens:
                self._tokens.clear()

    def configure(self, **changes) -> None:
        """Sets any `Faults` or `Config` field; `expire_tokens=True` expires every token now.
        Unknown names raise ValueError."""
        fault_names = {f.name for f in dataclasses.fields(Faults)}
        config_names = {f.name for f in dataclasses.fields(Config)}
        with self._lock:
            for name, value in changes.items():
                if name == "expire_tokens":
                    if value:
                        for token in self._tokens.values():
                            token.expires_at = 0.0
                elif name in fault_names:
                    setattr(self.faults, name, _coerce(Faults, name, value))
                    if name == "fail_seed":
                        self._fail_rng = random.Random(self.faults.fail_seed)
                elif name in config_names:
                    value = _coerce(Config, name, value)
                    if name == "fields" and value not in FIELD_GENERATIONS:
                        raise ValueError(f"fields must be one of {FIELD_GENERATIONS}")
                    if name == "page_size" and value is not None and value < 2:
                        raise ValueError("page_size must be at least 2")
                    setattr(self.config, name, value)
                    if name == "max_rps":
                        self._buckets.clear()
                else:
                    raise ValueError(f"unknown switch {name!r}")

    def expire_tokens(self) -> None:
        """Every token issued so far answers 8005 from now on."""
        self.configure(expire_tokens=True)

    def requests(self, since: int = 0) -> list[dict]:
        """Logged API requests with seq > since: seq, at (Unix s), path, api_id, stk_cd, cont_yn,
        status, return_code, rows, key (app key fingerprint)."""
        with self._lock:
            return [dict(entry) for entry in self._log if entry["seq"] > since]

    def state(self) -> dict:
        """Clock, switches, config and request counters (JSON-serialisable)."""
        with self._lock:
            now = time.time()
            log = list(self._log)
            valid = sum(1 for t in self._tokens.values() if t.expires_at > now)
            return {
                "now": self.market.now().isoformat(),
                "faults": dataclasses.asdict(self.faults),
                "config": dataclasses.asdict(self.config),
                "requests": {
                    "total": len(log),
                    "last_seq": self._seq,
                    "by_api_id": dict(Counter(e["api_id"] for e in log)),
                    "by_status": {str(k): v for k, v in Counter(e["status"] for e in log).items()},
                    "by_return_code": {
                        str(k): v for k, v in Counter(e["return_code"] for e in log).items()
                    },
                },
                "tokens": {"issued": self._tokens_issued, "valid": valid},
                "universe": len(UNIVERSE),
            }

    # --- dispatch ---------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        """Answers one HTTP request. `headers` keys are lower-case."""
        route = urlparse(path)
        if route.path.startswith("/_simulator/"):
            return self._control(method, route.path, parse_qs(route.query), body)
        if route.path in ("/", "/healthz") and method == "GET":
            return _json(200, {"simulator": "kiwoom", "now": self.market.now().isoformat()})
        if method != "POST":
            return _json(405, {"return_code": 1999, "return_msg": "POST only"})
        entry = self._begin(route.path, headers)
        if self.faults.latency_ms > 0:
            time.sleep(self.faults.latency_ms / 1000)
        try:
            if route.path == "/oauth2/token":
                response = self._token(body)
            elif route.path == "/oauth2/revoke":
                response = self._revoke(body)
            elif route.path in PATH_TRS:
                response = self._data(route.path, headers, body, entry)
            else:
                response = _json(404, {"return_code": 1999, "return_msg": "no such path"})
        except ReturnCodeError as error:
            response = _json(
                error.status, {"return_code": error.return_code, "return_msg": error.message}
            )
            entry["return_code"] = error.return_code
        entry["status"] = response.status
        if response.status == 200 and entry["return_code"] is None:
            entry["return_code"] = 0
        return response

    def _begin(self, path: str, headers: dict[str, str]) -> dict:
        with self._lock:
            self._seq += 1
            entry = {
                "seq": self._seq,
                "at": time.time(),
                "path": path,
                "api_id": headers.get("api-id", "au10001" if path == "/oauth2/token" else ""),
                "stk_cd": None,
                "cont_yn": headers.get("cont-yn", "N"),
                "status": None,
                "return_code": None,
                "rows": None,
                "key": None,
            }
            self._log.append(entry)
            return entry

    # --- tokens -----------------------------------------------------------------------------

    def _token(self, body: bytes) -> Response:
        data = _parse_body(body)
        if not data.get("grant_type"):
            raise ReturnCodeError(8011, "grant_type이 존재하지 않습니다")
        if data["grant_type"] != "client_credentials":
            raise ReturnCodeError(8012, "grant_type이 올바르지 않습니다")
        appkey, secretkey = data.get("appkey"), data.get("secretkey")
        if not appkey or not secretkey:
            raise ReturnCodeError(8020, "appkey 또는 secretkey가 존재하지 않습니다")
        if self._credentials and appkey != self._credentials[0]:
            raise ReturnCodeError(8001, "App Key 검증에 실패했습니다")
        if self._credentials and secretkey != self._credentials[1]:
            raise ReturnCodeError(8002, "Secret Key 검증에 실패했습니다")
        with self._lock:
            self._tokens_issued += 1
            seed = f"{_key_id(appkey)}:{self._tokens_issued}:{id(self)}"
            token = "SIM" + hashlib.sha256(seed.encode()).hexdigest()
            expires_at = time.time() + self.faults.token_lifetime_s
            self._tokens[token] = _Token(_key_id(appkey), expires_at)
        expires_dt = datetime.fromtimestamp(int(expires_at), KST).strftime("%Y%m%d%H%M%S")
        payload = {
            "expires_dt": expires_dt,
            "token_type": "bearer",
            "token": token,
            "return_code": 0,
            "return_msg": OK_MSG,
        }
        return _json(200, payload)

    def _revoke(self, body: bytes) -> Response:
        data = _parse_body(body)
        for name in ("appkey", "secretkey", "token"):
            if not data.get(name):
                raise ReturnCodeError(
                    8016 if name == "token" else 8020, MSG_MISSING.format(field=name)
                )
        with self._lock:
            self._tokens.pop(data["token"], None)
        return _json(200, {"return_code": 0, "return_msg": OK_MSG})

    def _authorize(self, headers: dict[str, str]) -> str:
        value = headers.get("authorization")
        if not value:
            raise ReturnCodeError(1513, MSG_NO_AUTH, 401)
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ReturnCodeError(1514, MSG_BAD_AUTH, 401)
        with self._lock:
            found = self._tokens.get(token.strip())
        if found is None or found.expires_at <= time.time():
            raise ReturnCodeError(8005, MSG_BAD_TOKEN, 401)
        return found.appkey_id

    # --- TR requests --------------------------------------------------------------------------

    def _data(self, path: str, headers: dict[str, str], body: bytes, entry: dict) -> Response:
        with self._lock:
            fail = False
            if self.faults.fail_next > 0:
                self.faults.fail_next -= 1
                fail = True
            elif self.faults.fail_rate > 0:
                fail = self._fail_rng.random() < self.faults.fail_rate
            limited = False
            if not fail and self.faults.rate_limit_next > 0:
                self.faults.rate_limit_next -= 1
                limited = True
            status = self.faults.fail_status
        if fail:
            entry["return_code"] = 1999 if status == 500 else None
            return _server_error(status)
        if limited:
            raise ReturnCodeError(1700, MSG_RATE_LIMIT, 429)
        key = self._authorize(headers)
        entry["key"] = key
        with self._lock:
            if self.config.max_rps > 0:
                bucket = self._buckets.get(key)
                if bucket is None:
                    bucket = self._buckets[key] = _Bucket(self.config.max_rps)
                allowed = bucket.take()
            else:
                allowed = True
        if not allowed:
            raise ReturnCodeError(1700, MSG_RATE_LIMIT, 429)
        api_id = headers.get("api-id", "").strip()
        if not api_id:
            raise ReturnCodeError(1501, MSG_NO_API_ID)
        if api_id not in KNOWN_TRS:
            raise ReturnCodeError(1505, MSG_UNKNOWN_API_ID.format(api_id=api_id))
        if api_id not in PATH_TRS[path]:
            raise ReturnCodeError(1504, MSG_API_ID_URI.format(api_id=api_id))
        data = _parse_body(body)
        cont = headers.get("cont-yn", "N").strip().upper() == "Y"
        next_key = headers.get("next-key", "").strip() if cont else ""
        if cont and not next_key:
            raise ReturnCodeError(1511, MSG_MISSING.format(field="next-key"))
        if api_id == "ka10099":
            payload, more, new_key = self._stock_list(data, next_key)
            rows = payload["list"]
        elif api_id == "ka10100":
            payload, more, new_key = self._stock_info(data), False, ""
            rows = [payload]
        else:
            payload, more, new_key = self._chart(api_id, data, next_key)
            rows = payload[CHART_TRS[api_id][1]]
            entry["stk_cd"] = payload["stk_cd"]
        entry["rows"] = len(rows)
        payload["return_code"], payload["return_msg"] = 0, OK_MSG
        headers_out = {"api-id": api_id, "cont-yn": "Y" if more else "N", "next-key": new_key}
        response = _json(200, payload, headers_out)
        with self._lock:
            if self.faults.malformed_next > 0:
                self.faults.malformed_next -= 1
                response.body = response.body[: max(1, len(response.body) // 2)]
        return response

    def _stock_list(self, data: dict, next_key: str) -> tuple[dict, bool, str]:
        market_type = _required(data, "mrkt_tp")
        if market_type not in MARKET_TYPES:
            raise ReturnCodeError(1517, MSG_FORMAT.format(field="mrkt_tp"))
        specs = [s for s in UNIVERSE if s.market_code == market_type]
        start = 0
        if next_key:
            match = re.fullmatch(rf"{market_type}:(\d+)", next_key)
            if not match:
                raise ReturnCodeError(1517, MSG_FORMAT.format(field="next-key"))
            start = int(match.group(1))
        size = self.config.page_size or DEFAULT_LIST_PAGE_SIZE
        page = specs[start : start + size]
        more = start + size < len(specs)
        items = [self._stock_item(s) for s in page]
        if next_key and self.faults.stuck_next_key:
            return {"list": items}, True, next_key
        return {"list": items}, more, f"{market_type}:{start + size}" if more else ""

    def _stock_info(self, data: dict) -> dict:
        return self._stock_item(self._stock(data))

    def _stock_item(self, spec: StockSpec) -> dict:
        item = {
            "code": spec.code,
            "name": spec.name,
            "listCount": f"{spec.listed_shares:016d}",
            "auditInfo": spec.audit_info,
            "regDay": spec.listed_on.strftime("%Y%m%d"),
            "lastPrice": f"{self.market.last_price(spec.code):08d}",
            "state": spec.state,
            "marketCode": spec.market_code,
            "marketName": MARKET_NAMES[spec.market],
            "upName": spec.industry,
            "upSizeName": spec.size_class,
            "companyClassName": spec.company_class,
            "orderWarning": spec.order_warning,
            "nxtEnable": "Y" if spec.nxt_enabled else "N",
        }
        if self.config.fields == "legacy":
            for name in ("listCount", "lastPrice", "marketName", "companyClassName"):
                del item[name]
        return item

    def _stock(self, data: dict) -> StockSpec:
        raw = _required(data, "stk_cd")
        match = STOCK_CODE.match(raw.strip().upper())
        if not match:
            raise ReturnCodeError(1517, MSG_FORMAT.format(field="stk_cd"))
        spec = UNIVERSE_BY_CODE.get(match.group(1))
        if spec is None:
            raise ReturnCodeError(1902, MSG_UNKNOWN_STOCK.format(code=raw))
        return spec

    def _chart(self, api_id: str, data: dict, next_key: str) -> tuple[dict, bool, str]:
        kind, list_key = CHART_TRS[api_id]
        spec = self._stock(data)
        if _required(data, "upd_stkpc_tp") not in ("0", "1"):
            raise ReturnCodeError(1517, MSG_FORMAT.format(field="upd_stkpc_tp"))
        now = self.market.now()
        if kind == "minute":
            scope = _required(data, "tic_scope")
            if scope not in TIC_SCOPES:
                raise ReturnCodeError(1517, MSG_FORMAT.format(field="tic_scope"))
            if int(scope) % 5:
                raise ReturnCodeError(1517, MSG_FORMAT.format(field="tic_scope") + " 1/3분 미지원")
            base = _date(data["base_dt"], "base_dt") if data.get("base_dt") else None
            series = self.market.minute_series(spec.code, int(scope), now=now)
            prefix = f"{spec.code}{scope}"
        else:
            base = _date(_required(data, "base_dt"), "base_dt")
            series = self.market.series(spec.code, kind, now=now)
            prefix = f"{spec.code}{kind}"
        # Rows on or before the base date's KST day, newest first, from the cursor on.
        end = len(series)
        if base is not None:
            end = int(np.searchsorted(series.key_day, np.datetime64(base, "D"), side="right"))
        if next_key:
            if not next_key.startswith(prefix) or not next_key[len(prefix) :].isdigit():
                raise ReturnCodeError(1517, MSG_FORMAT.format(field="next-key"))
            cursor = int(next_key[len(prefix) :])
            if not self.faults.repeat_pages:
                end = min(end, int(np.searchsorted(series.start_s, cursor, side="right")))
        size = self.config.page_size or DEFAULT_PAGE_SIZES[api_id]
        first = max(0, end - size)
        more = first > 0
        new_key = ""
        if more:
            cursor = (
                series.start_s[first] if self.faults.duplicate_rows else series.start_s[first - 1]
            )
            new_key = f"{prefix}{int(cursor)}"
        if next_key and self.faults.stuck_next_key:
            more, new_key = True, next_key
        elif next_key and self.faults.repeat_pages:
            more, new_key = True, f"{prefix}{int(next_key[len(prefix) :]) - 1}"
        if kind == "minute":
            rows = self._minute_rows(spec, series, first, end)
        else:
            rows = self._period_rows(spec, api_id, series, first, end)
        self._corrupt(spec.code, rows, newest=len(series) - end)
        return {"stk_cd": spec.code, list_key: rows}, more, new_key

    def _corrupt(self, code: str, rows: list[dict], *, newest: int) -> None:
        """Applies the `corrupt_*` fault to `rows` (newest first; rows[0] is the series' row
        `newest` places from its newest)."""
        faults = self.faults
        if not faults.corrupt_fields or faults.corrupt_code not in ("", code):
            return
        index = faults.corrupt_row - newest
        if 0 <= index < len(rows):
            rows[index].update(faults.corrupt_fields)

    def _period_rows(
        self, spec: StockSpec, api_id: str, series: Series, first: int, end: int
    ) -> list[dict]:
        legacy = self.config.fields == "legacy"
        unit = 1_000_000 if api_id == "ka10081" else 1
        page = series.take(slice(first, end))
        previous = series.close[first - 1 : end - 1] if first > 0 else None
        if previous is None:
            previous = np.concatenate([series.open[:1], series.close[: end - 1]])
        days = np.datetime_as_string(page.key_day).tolist()
        columns = zip(
            page.close.astype(np.int64).tolist(),
            page.volume.tolist(),
            np.rint(page.value / unit).astype(np.int64).tolist(),
            days,
            page.open.astype(np.int64).tolist(),
            page.high.astype(np.int64).tolist(),
            page.low.astype(np.int64).tolist(),
            (page.close - previous).astype(np.int64).tolist(),
            _change_signs(page.close, previous),
            (100.0 * page.volume / spec.listed_shares).tolist(),
            strict=True,
        )
        rows = []
        for close, volume, value, day, open_, high, low, change, sign, turnover in columns:
            row = {
                "cur_prc": str(close),
                "trde_qty": str(volume),
                "trde_prica": str(value),
                "dt": day.replace("-", ""),
                "open_pric": str(open_),
                "high_pric": str(high),
                "low_pric": str(low),
            }
            if legacy:
                row.update(_LEGACY_PERIOD_FIELDS)
            else:
                row["pred_pre"] = f"+{change}" if change > 0 else str(change)
                row["pred_pre_sig"] = sign
                row["trde_tern_rt"] = f"+{turnover:.2f}"
            rows.append(row)
        rows.reverse()
        return rows

    def _minute_rows(self, spec: StockSpec, series: Series, first: int, end: int) -> list[dict]:
        legacy = self.config.fields == "legacy"
        page = series.take(slice(first, end))
        day_list = page.key_day.tolist()
        previous_by_day = {d: self.market.previous_close(spec.code, d) for d in set(day_list)}
        previous = np.array([previous_by_day[d] for d in day_list], dtype=np.float64)
        stamps = np.datetime_as_string(
            (page.start_s + KST_OFFSET_S).astype("datetime64[s]"), unit="s"
        ).tolist()
        columns = zip(
            _signed_prices(page.close, previous),
            page.volume.tolist(),
            stamps,
            _signed_prices(page.open, previous),
            _signed_prices(page.high, previous),
            _signed_prices(page.low, previous),
            _cumulative_by_day(series, first, end),
            (page.close - previous).astype(np.int64).tolist(),
            _change_signs(page.close, previous),
            strict=True,
        )
        rows = []
        for close, volume, stamp, open_, high, low, cumulative, change, sign in columns:
            row = {
                "cur_prc": close,
                "trde_qty": str(volume),
                "cntr_tm": stamp.replace("-", "").replace("T", "").replace(":", ""),
                "open_pric": open_,
                "high_pric": high,
                "low_pric": low,
            }
            if legacy:
                row.update(_LEGACY_MINUTE_FIELDS)
            else:
                row["acc_trde_qty"] = str(cumulative)
                row["pred_pre"] = f"+{change}" if change > 0 else str(change)
                row["pred_pre_sig"] = sign
            rows.append(row)
        rows.reverse()
        return rows

    # --- control endpoints ---------------------------------------------------------------------

    def _control(self, method: str, path: str, query: dict, body: bytes) -> Response:
        try:
            data = json.loads(body or b"{}") if method == "POST" else {}
            if not isinstance(data, dict):
                raise ValueError("JSON object expected")
            if path == "/_simulator/state" and method == "GET":
                return _json(200, self.state())
            if path == "/_simulator/requests" and method == "GET":
                since = int(query.get("since", ["0"])[0])
                return _json(200, {"requests": self.requests(since)})
            if path == "/_simulator/faults" and method == "POST":
                self.configure(**data)
                return _json(200, self.state())
            if path == "/_simulator/clock" and method == "POST":
                self._set_clock(data)
                return _json(200, self.state())
            if path == "/_simulator/reset" and method == "POST":
                self.reset(tokens=bool(data.get("tokens")))
                return _json(200, self.state())
        except (ValueError, TypeError) as error:
            return _json(400, {"error": str(error)})
        return _json(404, {"error": f"no control endpoint {method} {path}"})

    def set_clock(self, now: str | datetime | None, *, running: bool = False) -> None:
        """The market clock: None = real time; an instant (naive = KST) frozen there, or with
        running=True starting there and advancing with real time."""
        set_clock(self.market, now, running=running)
        self._clock_running = running and now is not None

    def _set_clock(self, data: dict) -> None:
        if "advance_seconds" in data:
            moved = self.market.now() + timedelta(seconds=float(data["advance_seconds"]))
            data = {"now": moved.isoformat(), "running": self._clock_running}
        if "now" not in data:
            raise ValueError("give now (ISO datetime or null) or advance_seconds")
        self.set_clock(data["now"], running=bool(data.get("running")))


def set_clock(market: SimulatedMarket, now: str | datetime | None, *, running: bool) -> None:
    """Points the market clock at real time (None), a frozen instant, or a running clock that
    starts at `now` and advances with real time. Naive ISO strings are read as KST."""
    if now is None:
        market.set_now(None)
        return
    if isinstance(now, str):
        now = datetime.fromisoformat(now)
    if now.tzinfo is None:
        now = now.replace(tzinfo=KST)
    if running:
        offset = now.timestamp() - time.time()
        market.set_now(lambda: datetime.fromtimestamp(time.time() + offset, KST))
    else:
        market.set_now(now)


# --- helpers ---------------------------------------------------------------------------------


def _json(status: int, payload: dict, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    out = {"Content-Type": "application/json;charset=UTF-8"}
    out.update(headers or {})
    return Response(status, body, out)


def _server_error(status: int) -> Response:
    if status == 500:
        return _json(500, {"return_code": 1999, "return_msg": MSG_SERVER_ERROR})
    text = f"<html><body><h1>{status} simulated gateway error</h1></body></html>"
    return Response(status, text.encode(), {"Content-Type": "text/html"})


def _parse_body(body: bytes) -> dict:
    try:
        data = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ReturnCodeError(1517, MSG_FORMAT.format(field="body")) from None
    if not isinstance(data, dict):
        raise ReturnCodeError(1517, MSG_FORMAT.format(field="body"))
    return data


def _required(data: dict, name: str) -> str:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ReturnCodeError(1511, MSG_MISSING.format(field=name))
    if not isinstance(value, str | int):
        raise ReturnCodeError(1517, MSG_FORMAT.format(field=name))
    return str(value).strip()


def _date(value: str, name: str) -> date:
    text = str(value).strip()
    if not re.fullmatch(r"\d{8}", text):
        raise ReturnCodeError(1517, MSG_FORMAT.format(field=name))
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise ReturnCodeError(1517, MSG_FORMAT.format(field=name)) from None


_LEGACY_PERIOD_FIELDS = dict.fromkeys(
    ("upd_stkpc_tp", "upd_rt", "bic_inds_tp", "sm_inds_tp", "stk_infr", "upd_stkpc_event"), ""
)
_LEGACY_PERIOD_FIELDS["pred_close_pric"] = ""
_LEGACY_MINUTE_FIELDS = dict.fromkeys(
    ("upd_stkpc_tp", "upd_rt", "bic_inds_tp", "sm_inds_tp", "stk_infr", "pred_close_pric"), ""
)


def _signed_prices(prices: np.ndarray, previous_close: np.ndarray) -> list[str]:
    """Minute-row prices: the magnitude with `+`/`-` for above/below the previous close."""
    signs = np.where(prices > previous_close, "+", np.where(prices < previous_close, "-", ""))
    return [
        s + str(p) for s, p in zip(signs.tolist(), prices.astype(np.int64).tolist(), strict=True)
    ]


def _change_signs(close: np.ndarray, previous: np.ndarray) -> list[str]:
    """`pred_pre_sig`: 1 upper limit, 2 up, 3 unchanged, 4 lower limit, 5 down."""
    lower, upper = price_limits(previous)
    codes = np.where(
        close > previous,
        np.where(close >= upper, "1", "2"),
        np.where(close < previous, np.where(close <= lower, "4", "5"), "3"),
    )
    return codes.tolist()


def _cumulative_by_day(series: Series, first: int, end: int) -> list[int]:
    """The day's cumulative volume at each row first..end-1 (rows before `first` included)."""
    if end <= first:
        return []
    day_of_first = series.key_day[first]
    start = int(np.searchsorted(series.key_day, day_of_first))
    volume = series.volume[start:end]
    days = series.key_day[start:end]
    total = np.cumsum(volume)
    new_day = np.flatnonzero(np.concatenate([[True], days[1:] != days[:-1]]))
    offsets = np.repeat(
        np.concatenate([[0], total[new_day[1:] - 1]]), np.diff(np.append(new_day, len(days)))
    )
    return (total - offsets)[first - start :].tolist()


def _coerce(cls, name: str, value):
    kind = {f.name: f.type for f in dataclasses.fields(cls)}[name]
    if value is None:
        if "None" in str(kind):
            return None
        raise TypeError(f"{name} cannot be null")
    if str(kind).startswith("dict"):
        if not isinstance(value, dict):
            raise TypeError(f"{name} must be an object")
        return {str(key): str(item) for key, item in value.items()}
    if "bool" in str(kind):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be true or false")
        return value
    if "int" in str(kind):
        return int(value)
    if "float" in str(kind):
        return float(value)
    return str(value)


# --- HTTP transport ---------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY a keep-alive client's
    # delayed ACK stalls every response by ~40 ms.
    disable_nagle_algorithm = True
    simulator: KiwoomSimulator  # set on the subclass made per server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            response = self.simulator.handle(self.command, self.path, headers, body)
        except Exception:
            logger.exception("Kiwoom simulator failed on %s %s", self.command, self.path)
            response = _server_error(500)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = _serve

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        logger.debug("%s %s", self.address_string(), format % args)


class SimulatorServer:
    """The simulator on a real socket, in a background thread — for tests, the bench and the
    `kiwoom_simulator` command.

    port 0 picks a free port; `url` is the base URL to give a Kiwoom client. now: as for
    `SimulatedMarket` (None = real time). `faults`/`config`/`configure()`/`reset()`/
    `requests()`/`state()` reach the live switches without HTTP.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        now: datetime | None = None,
        page_size: int | None = None,
        max_rps: float = DEFAULT_MAX_RPS,
        fields: str = "current",
        faults: Faults | None = None,
        minute_history_days: int = DEFAULT_MINUTE_HISTORY_DAYS,
        appkey: str | None = None,
        secretkey: str | None = None,
        market: SimulatedMarket | None = None,
    ):
        self.market = market or SimulatedMarket(now, minute_history_days=minute_history_days)
        config = Config(page_size=page_size, max_rps=max_rps, fields=fields)
        self.simulator = KiwoomSimulator(
            self.market, faults=faults, config=config, appkey=appkey, secretkey=secretkey
        )
        handler = type("SimulatorHandler", (_Handler,), {"simulator": self.simulator})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def faults(self) -> Faults:
        return self.simulator.faults

    @property
    def config(self) -> Config:
        return self.simulator.config

    def configure(self, **changes) -> None:
        self.simulator.configure(**changes)

    def reset(self, *, tokens: bool = False) -> None:
        self.simulator.reset(tokens=tokens)

    def requests(self, since: int = 0) -> list[dict]:
        return self.simulator.requests(since)

    def state(self) -> dict:
        return self.simulator.state()

    def set_now(self, now: datetime | None, *, running: bool = False) -> None:
        """Moves the market clock (see `KiwoomSimulator.set_clock`)."""
        self.simulator.set_clock(now, running=running)

    def warm_up(self) -> None:
        """Generates every stock's daily history now, so the first requests are fast."""
        for spec in UNIVERSE:
            self.market.first_day(spec.code)

    def start(self) -> SimulatorServer:
        """Serves in a background thread once the trading calendar is loaded (its first use
        takes a second or more, which the first request should not wait for)."""
        krx_calendar.library_sessions()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="kiwoom-simulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
