"""Forms for labels: the label form, the list filter, the accept/reject of a detection."""

import re
from datetime import date, datetime, time

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from analysis.models import DetectedPatternType, Detector, PatternInstance, PatternStatus
from analysis.selectors.radar import UNKNOWN_SYMBOL
from marketdata.krx_calendar import INTRADAY_MINUTES, KST
from marketdata.models import Stock, Timeframe

from .models import (
    MAX_KEY_POINTS,
    TOO_MANY_KEY_POINTS,
    Direction,
    LabelPatternType,
    Outcome,
    Source,
    key_point_problem,
)
from .review import IOU_THRESHOLD
from .selectors.labels import LABEL_ORDER
from .selectors.ranges import END_BEFORE_START, kst_text

DETECTION_GONE = _(
    "This detection is no longer stored (the series was analysed again); reload the Radar."
)
BAD_INSTANT = _(
    "Enter a KST date and time (2024-03-04 09:30) or an ISO 8601 instant "
    "(2024-03-04T09:30:00+09:00) or, for 1d/1w/1mo, a KST date (2024-03-04)."
)
CHOOSE_PATTERN_TYPE = _("Choose the pattern type.")
# The pattern type has no default: a quick save must not store a type the user never picked.
PATTERN_TYPE_CHOICES = [("", _("— choose —")), *LabelPatternType.choices]
DATE_NEEDS_DAILY = _("A date alone is only accepted for 1d, 1w and 1mo; give the time of the bar.")
BAD_KEY_POINT = _(
    "Line {line}: write one key point per line as ROLE INSTANT PRICE, e.g. “P1 2024-03-04 71200”."
)
TOO_MANY_TAGS = _("At most {n} tags.")
TAG_TOO_LONG = _("Tags are at most {n} characters.")
MAX_TAGS = 20
MAX_TAG_LENGTH = 40
MAX_CONTEXT_BARS = 500
# Filter dates far enough from datetime's limits that a day can be added and KST shifted to UTC.
FILTER_DATE_VALIDATORS = [
    MinValueValidator(date(1900, 1, 1)),
    MaxValueValidator(date(2999, 12, 31)),
]
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_instant(text: str, timeframe: str | None) -> datetime:
    """An aware datetime from an ISO 8601 instant or (daily and longer) a KST date.

    A naive instant is read as KST. Raises forms.ValidationError with a message for the user.
    """
    text = text.strip()
    if DATE_ONLY.match(text):
        if timeframe in INTRADAY_MINUTES:
            raise forms.ValidationError(DATE_NEEDS_DAILY)
        try:
            value = datetime.combine(date.fromisoformat(text), time(0, 0), tzinfo=KST)
        except ValueError:
            raise forms.ValidationError(BAD_INSTANT) from None
    else:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise forms.ValidationError(BAD_INSTANT) from None
        if value.tzinfo is None:
            value = value.replace(tzinfo=KST)
    # Years near datetime's limits overflow when shifted to KST or UTC further on.
    if not 1900 <= value.year <= 2999:
        raise forms.ValidationError(BAD_INSTANT)
    return value


def parse_key_points(text: str, timeframe: str | None) -> list[dict]:
    """Key points from lines "ROLE INSTANT PRICE" (e.g. "P1 2024-03-04 71200"), at most
    MAX_KEY_POINTS, each with a plain role name used once and a finite positive price (KRW).

    Raises forms.ValidationError naming the line; reads nothing from the database.
    """
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if len(lines) > MAX_KEY_POINTS:
        raise forms.ValidationError(TOO_MANY_KEY_POINTS)
    points = []
    for number, line in lines:
        parts = line.split()
        if len(parts) != 3:
            raise forms.ValidationError(BAD_KEY_POINT.format(line=number))
        role, instant, price = parts
        try:
            price_value = float(price.replace(",", ""))
        except ValueError:
            raise forms.ValidationError(BAD_KEY_POINT.format(line=number)) from None
        problem = key_point_problem(role, price_value, [p["role"] for p in points])
        if problem:
            raise forms.ValidationError(
                _("Line {number}: {problem}").format(number=number, problem=problem)
            )
        try:
            ts = parse_instant(instant, timeframe)
        except forms.ValidationError as exc:
            raise forms.ValidationError(
                f"{BAD_KEY_POINT.format(line=number)} {exc.messages[0]}"
            ) from None
        points.append({"role": role, "ts": ts, "price": price_value})
    return points


def key_points_text(key_points: list[dict], timeframe: str) -> str:
    """The textarea form of stored key points (inverse of `parse_key_points`)."""
    lines = []
    for point in key_points:
        shown = kst_text(datetime.fromisoformat(point["ts"]), timeframe).replace(" ", "T")
        lines.append(f"{point['role']} {shown} {point['price']:g}")
    return "\n".join(lines)


def instant_text(value: str, timeframe: str | None) -> str:
    """A start/end as the form shows it: a KST date for 1d/1w/1mo, "YYYY-MM-DD HH:MM" (KST) for
    intraday bars (`selectors.ranges.kst_text`); text that is no instant is returned as is, for
    the form to refuse. Without a timeframe the text is kept."""
    if not timeframe:
        return value
    try:
        instant = parse_instant(value, None)
    except forms.ValidationError:
        return value
    return kst_text(instant, timeframe or "1d")


class SymbolField(forms.CharField):
    def clean(self, value):
        code = super().clean(value)
        if not code:
            return None
        stock = Stock.objects.filter(code=code.strip()).first()
        if stock is None:
            raise forms.ValidationError(UNKNOWN_SYMBOL.format(symbol=code))
        return stock


class LabelForm(forms.Form):
    """One label as the user types it; the service snaps the range to stored bars."""

    symbol = SymbolField(max_length=12, label=_("Symbol"), help_text=_("KRX code, e.g. 005930"))
    timeframe = forms.ChoiceField(choices=Timeframe.choices, label=_("Timeframe"))
    pattern_type = forms.ChoiceField(
        choices=PATTERN_TYPE_CHOICES,
        label=_("Pattern"),
        error_messages={"required": CHOOSE_PATTERN_TYPE},
    )
    start = forms.CharField(
        max_length=40,
        label=_("Start"),
        help_text=_("First bar (KST): a date for 1d/1w/1mo, date and time intraday"),
    )
    end = forms.CharField(
        max_length=40,
        label=_("End"),
        help_text=_("Last bar (KST): a date for 1d/1w/1mo, date and time intraday"),
    )
    direction = forms.ChoiceField(
        choices=[("", _("Usual for the pattern")), *Direction.choices],
        required=False,
        label=_("Direction"),
    )
    outcome = forms.ChoiceField(
        choices=Outcome.choices, required=False, initial=Outcome.UNKNOWN, label=_("Outcome")
    )
    key_points = forms.CharField(
        required=False,
        # Room for MAX_KEY_POINTS lines of ROLE, an ISO instant with offset and a price.
        max_length=MAX_KEY_POINTS * 80,
        error_messages={"max_length": TOO_MANY_KEY_POINTS},
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "P1 2024-03-04 71200"}),
        label=_("Key points"),
        help_text=format_lazy(
            _("Optional, up to {n}, one per line: ROLE INSTANT PRICE (KRW)"), n=MAX_KEY_POINTS
        ),
    )
    notes = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea({"rows": 3}), label=_("Notes")
    )
    tags = forms.CharField(
        required=False, max_length=1000, label=_("Tags"), help_text=_("Comma-separated")
    )

    def clean_outcome(self):
        return self.cleaned_data.get("outcome") or Outcome.UNKNOWN

    def clean_tags(self):
        tags = [t.strip() for t in self.cleaned_data.get("tags", "").split(",") if t.strip()]
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(TOO_MANY_TAGS.format(n=MAX_TAGS))
        if any(len(t) > MAX_TAG_LENGTH for t in tags):
            raise forms.ValidationError(TAG_TOO_LONG.format(n=MAX_TAG_LENGTH))
        return tags

    def clean(self):
        data = super().clean()
        timeframe = data.get("timeframe")
        for name in ("start", "end"):
            if data.get(name):
                try:
                    data[name] = parse_instant(data[name], timeframe)
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
        if "key_points" in data:
            try:
                data["key_points"] = parse_key_points(data["key_points"], timeframe)
            except forms.ValidationError as exc:
                self.add_error("key_points", exc)
        start, end = data.get("start"), data.get("end")
        if isinstance(start, datetime) and isinstance(end, datetime) and end < start:
            self.add_error("end", END_BEFORE_START)
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "stock": data["symbol"],
            "timeframe": data["timeframe"],
            "pattern_type": data["pattern_type"],
            "start": data["start"],
            "end": data["end"],
            "direction": data["direction"],
            "key_points": data["key_points"],
            "outcome": data["outcome"],
            "notes": data["notes"],
            "tags": data["tags"],
        }


class DetectionDecisionForm(forms.Form):
    """Accept or reject one stored detected pattern (the Radar's detected-pattern list)."""

    decision = forms.ChoiceField(choices=[("accept", _("Accept")), ("reject", _("Reject"))])
    detection = forms.ModelChoiceField(
        queryset=PatternInstance.objects.select_related("stock"),
        error_messages={"invalid_choice": DETECTION_GONE},
    )


class LabelFilterForm(forms.Form):
    """Filters of the label list and its exports (all optional, from the query string)."""

    symbol = forms.CharField(required=False, max_length=12, label=_("Symbol"))
    timeframe = forms.ChoiceField(
        choices=[("", _("All")), *Timeframe.choices], required=False, label=_("Timeframe")
    )
    pattern_type = forms.ChoiceField(
        choices=[("", _("All")), *LabelPatternType.choices], required=False, label=_("Pattern")
    )
    outcome = forms.ChoiceField(
        choices=[("", _("All")), *Outcome.choices], required=False, label=_("Outcome")
    )
    source = forms.ChoiceField(
        choices=[("", _("All")), *Source.choices], required=False, label=_("Source")
    )
    date_from = forms.DateField(
        required=False, label=_("From (KST)"), validators=FILTER_DATE_VALIDATORS
    )
    date_to = forms.DateField(
        required=False, label=_("To (KST)"), validators=FILTER_DATE_VALIDATORS
    )
    deleted = forms.BooleanField(required=False, label=_("Deleted only"))
    # The column headers set it (a second click reverses it); the form keeps it while filtering.
    sort = forms.ChoiceField(
        choices=[(key, key) for key in LABEL_ORDER],
        required=False,
        widget=forms.HiddenInput(attrs={"id": "label-sort"}),
    )


class ExportOptionsForm(forms.Form):
    """Extra options of the JSONL and Label Studio exports."""

    with_bars = forms.BooleanField(required=False)
    context = forms.IntegerField(required=False, min_value=0, max_value=MAX_CONTEXT_BARS)


def label_form_initial(label) -> dict:
    """The LabelForm's initial data for editing `label` (start/end as `kst_text`: dates for
    1d/1w/1mo, KST date and time for intraday bars)."""
    return {
        "symbol": label.stock.code,
        "timeframe": label.timeframe,
        "pattern_type": label.pattern_type,
        "start": kst_text(label.start_ts, label.timeframe),
        "end": kst_text(label.end_ts, label.timeframe),
        "direction": label.direction,
        "outcome": label.outcome,
        "key_points": key_points_text(label.key_points, label.timeframe),
        "notes": label.notes,
        "tags": ", ".join(label.tags),
    }


MIN_IOU = 0.05
BAD_IOU = _("The IoU threshold is a number from 0.05 to 1, e.g. 0.5.")


class ReviewFilterForm(forms.Form):
    """Scope of the detector review and its IoU threshold (all optional)."""

    timeframe = forms.ChoiceField(
        choices=[("", _("All")), *Timeframe.choices], required=False, label=_("Timeframe")
    )
    date_from = forms.DateField(
        required=False, label=_("From (KST)"), validators=FILTER_DATE_VALIDATORS
    )
    date_to = forms.DateField(
        required=False, label=_("To (KST)"), validators=FILTER_DATE_VALIDATORS
    )
    iou = forms.FloatField(
        required=False,
        min_value=MIN_IOU,
        max_value=1.0,
        label=_("IoU threshold"),
        error_messages={"invalid": BAD_IOU, "min_value": BAD_IOU, "max_value": BAD_IOU},
        widget=forms.NumberInput(attrs={"step": "0.05", "placeholder": str(IOU_THRESHOLD)}),
    )


class ReviewedRangeForm(forms.Form):
    """A range of one series the user marks as reviewed (every pattern in it labelled)."""

    symbol = SymbolField(max_length=12, label=_("Symbol"), help_text=_("KRX code, e.g. 005930"))
    timeframe = forms.ChoiceField(choices=Timeframe.choices, label=_("Timeframe"))
    start = forms.CharField(
        max_length=40, label=_("Start"), help_text=_("First bar: ISO instant or KST date")
    )
    end = forms.CharField(
        max_length=40, label=_("End"), help_text=_("Last bar: ISO instant or KST date")
    )

    def clean(self):
        data = super().clean()
        for name in ("start", "end"):
            if data.get(name):
                try:
                    data[name] = parse_instant(data[name], data.get("timeframe"))
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
        start, end = data.get("start"), data.get("end")
        if isinstance(start, datetime) and isinstance(end, datetime) and end < start:
            self.add_error("end", END_BEFORE_START)
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "stock": data["symbol"],
            "timeframe": data["timeframe"],
            "start": data["start"],
            "end": data["end"],
        }


class QueueFilterForm(forms.Form):
    """Filters of the review queue (all optional, from the query string) and the id of the
    detection shown last (`after`: skip to the next one)."""

    symbol = forms.CharField(required=False, max_length=12, label=_("Symbol"))
    timeframe = forms.ChoiceField(
        choices=[("", _("All")), *Timeframe.choices], required=False, label=_("Timeframe")
    )
    pattern_type = forms.ChoiceField(
        choices=[("", _("All")), *DetectedPatternType.choices], required=False, label=_("Pattern")
    )
    status = forms.ChoiceField(
        choices=[("", _("All")), *PatternStatus.choices], required=False, label=_("Status")
    )
    detector = forms.ChoiceField(
        choices=[("", _("All")), *Detector.choices], required=False, label=_("Detector")
    )
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    FILTERS = ("symbol", "timeframe", "pattern_type", "status", "detector")

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_bound else {}
        return {name: data.get(name) or "" for name in self.FILTERS}


class QueueDecisionForm(forms.Form):
    """Accept, reject or relabel (reject, then draw the right label) one detection of the
    queue."""

    decision = forms.ChoiceField(
        choices=[("accept", _("Accept")), ("reject", _("Reject")), ("relabel", _("Relabel"))]
    )
    detection = forms.ModelChoiceField(
        queryset=PatternInstance.objects.select_related("stock"),
        error_messages={"invalid_choice": DETECTION_GONE},
    )
