"""Template helpers for the labeling pages and partials (lookups only: no queries)."""

from datetime import datetime

from django import template

from marketdata.krx_calendar import INTRADAY_TIMEFRAMES

from ..models import KEY_POINT_ROLES, PATTERN_TYPE_KEYS, ROLE_KEYS, LabelPatternType
from ..selectors.labels import radar_url
from ..selectors.ranges import kst_text

register = template.Library()


def _field(obj, name: str):
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


@register.filter
def pattern_field(pattern, name: str):
    """`pattern.<name>` for a dict or an object (the Radar may pass either)."""
    return _field(pattern, name)


@register.simple_tag
def label_form_keys() -> dict:
    """What static/js/labeling.js needs for key points clicked on a chart and for the hotkeys:
    {"roles": {type: [[role, "high"|"low"], …]}, "patternKeys": {key: type}, "roleKeys": [key,
    …], "intraday": [timeframe, …]} (`labeling.models.KEY_POINT_ROLES` and its neighbours)."""
    return {
        "roles": {
            str(kind): [[role, str(anchor)] for role, anchor in roles]
            for kind, roles in KEY_POINT_ROLES.items()
        },
        "patternKeys": {key: str(kind) for key, kind in PATTERN_TYPE_KEYS.items()},
        "roleKeys": list(ROLE_KEYS),
        "intraday": list(INTRADAY_TIMEFRAMES),
    }


@register.simple_tag
def pattern_type_keys() -> list[tuple[str, str]]:
    """[(key, pattern type name)] of the number-key hotkeys, for the list `?` opens."""
    return [(key, LabelPatternType(kind).label) for key, kind in PATTERN_TYPE_KEYS.items()]


@register.simple_tag
def key_point_role_rows() -> list[tuple[str, str]]:
    """[(pattern type name, "P1 ▲ V1 ▼ P2 ▲")]: the role table as the hotkey list shows it."""
    arrows = {"high": "▲", "low": "▼"}
    return [
        (
            LabelPatternType(kind).label,
            " ".join(f"{role} {arrows[str(anchor)]}" for role, anchor in roles),
        )
        for kind, roles in KEY_POINT_ROLES.items()
    ]


@register.filter
def bar_when(value, timeframe: str) -> str:
    """A bar instant (aware datetime or ISO text) in KST: its date for 1d/1w/1mo, date and time
    for intraday bars (`selectors.ranges.kst_text`)."""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return kst_text(instant, timeframe)


@register.filter
def label_radar_url(label) -> str:
    """The Radar focused on a label's range."""
    return radar_url(
        symbol=label.stock.code, timeframe=label.timeframe, start=label.start_ts, end=label.end_ts
    )


@register.filter
def revision_value(value) -> str:
    """A field value of a revision snapshot as short text (lists joined, key points spelled)."""
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict) and {"role", "ts", "price"} <= item.keys():
                parts.append(f"{item['role']} {item['ts']} {item['price']:,.0f}")
            else:
                parts.append(str(item))
        return ", ".join(parts)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)
