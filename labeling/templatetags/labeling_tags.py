"""Template helpers for the labeling partials that other apps' pages include."""

from datetime import datetime

from django import template

from marketdata.krx_calendar import KST

from ..selectors import detection_decisions, radar_url

register = template.Library()


def _field(obj, name: str):
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


@register.filter
def pattern_field(pattern, name: str):
    """`pattern.<name>` for a dict or an object (the Radar may pass either)."""
    return _field(pattern, name)


@register.filter
def iso_instant(value) -> str:
    """An instant as ISO 8601 in KST; ISO text passes through unchanged."""
    if isinstance(value, datetime):
        return value.astimezone(KST).isoformat()
    return "" if value is None else str(value)


@register.simple_tag(takes_context=True)
def detection_decision(context, pattern):
    """The current user's live accept/reject label for this detected pattern, or None.

    A page listing many detections can put `label_decisions` ({pattern id: Label}, from
    `labeling.selectors.detection_decisions`) in the context to save two queries per pattern.
    """
    pattern_id = _field(pattern, "id")
    if pattern_id is None:
        return None
    decisions = context.get("label_decisions")
    if decisions is not None and int(pattern_id) in decisions:
        return decisions[int(pattern_id)]
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return None
    return detection_decisions(user=request.user, pattern_ids=[pattern_id]).get(int(pattern_id))


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
