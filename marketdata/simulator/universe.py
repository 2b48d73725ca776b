"""The simulator's built-in universe: real KOSPI/KOSDAQ codes and names with plausible master data.

Codes, names, markets, industries and listing dates are the real ones; listed shares are close to
reality; `anchor_price` (KRW) is where the synthetic close lands on `ANCHOR_DATE`, near the real
level of late 2025, and `first_price` the level its synthetic history starts from (2012 or the
listing, roughly the real adjusted price then). Volatility, beta and turnover shape each stock's
synthetic series. The last four names fail the original pipeline's "filter zero" on purpose (an
ETF, a SPAC, 증거금100% and 관리종목 states, tiny market caps) so that the filter is exercised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

ANCHOR_DATE = date(2025, 12, 30)

KOSPI = "KOSPI"
KOSDAQ = "KOSDAQ"
MARKET_CODES = {KOSPI: "0", KOSDAQ: "10"}
MARKET_NAMES = {KOSPI: "거래소", KOSDAQ: "코스닥"}

_NORMAL_STATE = "증거금20%|담보대출|신용가능"


@dataclass(frozen=True)
class StockSpec:
    """One listed instrument as the stock master (ka10099) describes it, plus model parameters.

    listed_shares: shares; first_price: KRW level at the start of the history; anchor_price: KRW
    close on ANCHOR_DATE; daily_vol: standard deviation
    of daily log returns; beta: loading on the common market factor; turnover: typical daily
    volume as a fraction of listed shares.
    """

    code: str
    name: str
    market: str
    industry: str
    listed_shares: int
    listed_on: date
    first_price: int
    anchor_price: int
    daily_vol: float
    beta: float
    turnover: float
    size_class: str = "대형주"
    company_class: str = ""
    state: str = _NORMAL_STATE
    audit_info: str = "정상"
    order_warning: str = "0"
    nxt_enabled: bool = True

    @property
    def market_code(self) -> str:
        """ka10099 `marketCode`: "0" KOSPI, "10" KOSDAQ."""
        return MARKET_CODES[self.market]


# code|name|market|industry (upName)|listed shares|listed on|first price KRW (2012 or listing,
# adjusted)|anchor price KRW|daily vol %|beta|turnover % of listed shares per day
_TABLE = """
005930|삼성전자     |KOSPI |전기/전자  |5919637922|1975-06-11|  21000| 110000|1.65|1.05|0.26
000660|SK하이닉스   |KOSPI |전기/전자  | 728002365|1996-12-26|  22000| 580000|2.7 |1.3 |0.5
373220|LG에너지솔루션 |KOSPI |전기/전자  | 234000000|2022-01-27| 500000| 380000|2.5 |1.1 |0.15
207940|삼성바이오로직스 |KOSPI |제약     |  71174000|2016-11-10| 150000|1150000|2   |0.8 |0.1
005380|현대차      |KOSPI |운송장비/부품| 204757766|1974-06-28| 210000| 280000|1.9 |1.0 |0.4
000270|기아       |KOSPI |운송장비/부품| 393166000|1973-07-21|  70000| 115000|2   |1.05|0.35
068270|셀트리온     |KOSPI |제약     | 216954000|2018-02-09| 250000| 180000|2.2 |0.8 |0.4
105560|KB금융     |KOSPI |금융     | 375000000|2008-10-10|  40000| 120000|1.8 |0.9 |0.3
055550|신한지주     |KOSPI |금융     | 485000000|2001-09-18|  40000|  75000|1.7 |0.9 |0.3
035420|NAVER    |KOSPI |IT 서비스 | 158437008|2008-11-28|  45000| 250000|2.1 |0.9 |0.4
035720|카카오      |KOSPI |IT 서비스 | 442000000|2017-07-10|  20000|  60000|2.3 |1.0 |0.5
051910|LG화학     |KOSPI |화학     |  70592343|2001-04-25| 330000| 330000|2.4 |1.15|0.5
006400|삼성SDI    |KOSPI |전기/전자  |  80585530|1979-07-27| 140000| 300000|2.5 |1.2 |0.6
012450|한화에어로스페이스|KOSPI |기계/장비  |  51563401|1988-08-01|  60000| 950000|2.6 |1.0 |0.7
015760|한국전력     |KOSPI |전기/가스  | 641964077|1989-08-25|  25000|  40000|1.8 |0.7 |0.35
017670|SK텔레콤    |KOSPI |통신     | 214790053|1989-09-27|  30000|  55000|1.2 |0.5 |0.2
005490|POSCO홀딩스 |KOSPI |금속     |  84571230|1988-06-10| 380000| 320000|2.1 |1.1 |0.5
032830|삼성생명     |KOSPI |보험     | 200000000|2010-05-12|  90000| 150000|1.7 |0.8 |0.1
247540|에코프로비엠   |KOSDAQ|전기/전자  |  97801344|2019-03-05|  25000| 150000|3.5 |1.3 |0.6
086520|에코프로     |KOSDAQ|금융     | 137019000|2007-07-20|   5000|  90000|3.8 |1.3 |0.8
196170|알테오젠     |KOSDAQ|제약     |  53450000|2014-12-12|  10000| 450000|3.5 |0.9 |0.8
028300|HLB      |KOSDAQ|제약     | 131400000|1996-07-15|   5000|  50000|3.6 |0.9 |0.9
263750|펄어비스     |KOSDAQ|오락/문화  |  64500000|2017-09-14|  20000|  35000|3   |0.9 |0.8
293490|카카오게임즈   |KOSDAQ|오락/문화  |  82200000|2020-09-10|  60000|  17000|3   |0.9 |0.8
041510|에스엠      |KOSDAQ|오락/문화  |  23800000|2000-02-04|  50000| 110000|2.8 |0.8 |1
035900|JYP Ent. |KOSDAQ|오락/문화  |  35500000|2001-11-15|   3000|  70000|2.8 |0.8 |1
069500|KODEX 200|KOSPI |       | 150950000|2002-10-14|  25000|  56000|1.1 |1.0 |3
340360|유안타제6호스팩 |KOSDAQ|금융     |   9200000|2019-12-05|   2000|   2150|0.6 |0.05|0.5
900110|이스트아시아홀딩스|KOSDAQ|       | 100545000|2010-04-23|   2000|    152|4   |0.5 |2
900270|헝셩그룹     |KOSDAQ|       |  60000000|2016-08-18|   3000|    420|4   |0.5 |1
"""

# Master-data fields that differ from a KOSPI/KOSDAQ large cap in good standing.
_OVERRIDES: dict[str, dict] = {
    "263750": {"size_class": "중형주"},
    "293490": {"size_class": "중형주"},
    "041510": {"size_class": "중형주"},
    "035900": {"size_class": "중형주"},
    "069500": {"size_class": "", "nxt_enabled": False},
    "340360": {"size_class": "소형주", "company_class": "중견기업부", "nxt_enabled": False},
    "900110": {
        "size_class": "",
        "company_class": "외국기업",
        "state": "증거금100%",
        "nxt_enabled": False,
    },
    "900270": {
        "size_class": "",
        "company_class": "외국기업",
        "state": "관리종목|증거금100%",
        "audit_info": "투자주의환기종목",
        "nxt_enabled": False,
    },
}


def _parse(table: str) -> tuple[StockSpec, ...]:
    specs = []
    for line in table.strip().splitlines():
        code, name, market, industry, shares, listed, first, price, vol, beta, turnover = (
            cell.strip() for cell in line.split("|")
        )
        fields = {"company_class": "우량기업부"} if market == KOSDAQ else {}
        fields.update(_OVERRIDES.get(code, {}))
        specs.append(
            StockSpec(
                code=code,
                name=name,
                market=market,
                industry=industry,
                listed_shares=int(shares),
                listed_on=date.fromisoformat(listed),
                first_price=int(first),
                anchor_price=int(price),
                daily_vol=float(vol) / 100,
                beta=float(beta),
                turnover=float(turnover) / 100,
                **fields,
            )
        )
    return tuple(specs)


UNIVERSE: tuple[StockSpec, ...] = _parse(_TABLE)
UNIVERSE_BY_CODE: dict[str, StockSpec] = {spec.code: spec for spec in UNIVERSE}
