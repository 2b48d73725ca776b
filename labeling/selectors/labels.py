"""Reads of labels as lists: the filtered list (page and exports), a label's history, and the
Radar link of a range."""

from datetime import datetime

from django.db.models import Case, IntegerField, Q, Value, When
from django.urls import reverse
from django.utils.http import urlencode

from analysis.selectors.scanner import order_reversed
from marketdata.krx_calendar import KST
from marketdata.models import Timeframe

from ..models import Label, LabelRevision
from .ranges import kst_days, kst_text

# The timeframes shortest first (5m … 1mo), not in the alphabetical order of their codes.
_TIMEFRAME_RANK = Case(
    *(When(timeframe=tf, then=Value(rank)) for rank, tf in enumerate(Timeframe.values)),
    output_field=IntegerField(),
)
_NEWEST = ("-created_at", "-id")
# What each sort of the label list (`LabelFilterForm.sort`) orders by, before the tie-breaker
# (newest label first); "-<sort>" is the same column the other way round (a second click on
# its header), the tie-breaker unchanged.
_SORT_COLUMNS = {
    "newest": _NEWEST,
    "symbol": ("stock__code",),
    "name": ("stock__name", "stock__code"),
    "timeframe": (_TIMEFRAME_RANK.asc(),),
    "pattern": ("pattern_type",),
    "range": ("-start_ts", "-end_ts"),
    "direction": ("direction",),
    "outcome": ("outcome",),
    "source": ("source",),
}


LABEL_ORDER = {key: (*fields, *_NEWEST) for key, fields in _SORT_COLUMNS.items()} | {
    f"-{key}": (*map(order_reversed, fields), *_NEWEST) for key, fields in _SORT_COLUMNS.items()
}
LABEL_DEFAULT_SORT = "newest"


def labels_filtered(
    *,
    user,
    symbol: str = "",
    timeframe: str = "",
    pattern_type: str = "",
    outcome: str = "",
    source: str = "",
    date_from=None,
    date_to=None,
    deleted: bool = False,
    sort: str = "",
):
    """Labels `user` may see (staff: everyone's), filtered, in the order `sort` (a LABEL_ORDER
    key; empty: newest first).

    `symbol` matches the code exactly or the name partly; `date_from`/`date_to` (KST dates)
    keep labels whose range overlaps those days; `deleted` lists soft-deleted labels instead
    of live ones. Stock and owner come joined.
    """
    qs = Label.objects.visible_to(user).select_related("stock", "owner")
    qs = qs.deleted() if deleted else qs.alive()
    if symbol:
        qs = qs.filter(Q(stock__code=symbol) | Q(stock__name__icontains=symbol))
    if timeframe:
        qs = qs.filter(timeframe=timeframe)
    if pattern_type:
        qs = qs.filter(pattern_type=pattern_type)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if source:
        qs = qs.filter(source=source)
    start, end = kst_days(date_from=date_from, date_to=date_to)
    return qs.overlapping(start=start, end=end).order_by(*LABEL_ORDER[sort or LABEL_DEFAULT_SORT])


def radar_url(*, symbol: str, timeframe: str, start: datetime, end: datetime) -> str:
    """The Radar at one series, zoomed to the bars from `start` to `end` (its focus_* params)."""
    query = {
        "symbol": symbol,
        "tf": timeframe,
        "focus_start": start.astimezone(KST).isoformat(),
        "focus_end": end.astimezone(KST).isoformat(),
    }
    return f"{reverse('analysis:radar')}?{urlencode(query)}"


def label_revisions(*, label: Label) -> list[dict]:
    """The label's revisions, newest first: {revision, changes: [(field, before, after)]}."""
    revisions = list(
        LabelRevision.objects.filter(label=label).select_related("actor").order_by("number")
    )
    history = []
    previous: dict = {}
    for revision in revisions:
        changes = [
            (field, previous.get(field), revision.snapshot.get(field))
            for field in revision.changed_fields
        ]
        history.append({"revision": revision, "changes": changes})
        previous = revision.snapshot
    history.reverse()
    return history


def reviewed_text(reviewed) -> str:
    """A reviewed range as "005930 1d 2024-01-08 – 2024-01-19" (KST)."""
    return (
        f"{reviewed.stock.code} {reviewed.timeframe} "
        f"{kst_text(reviewed.start_ts, reviewed.timeframe)} – "
        f"{kst_text(reviewed.end_ts, reviewed.timeframe)}"
    )
