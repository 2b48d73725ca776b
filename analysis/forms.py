"""Query-parameter forms for the Radar, its JSON endpoint and the Scanner.

Each form fills the defaults itself (`cleaned_data` always has every key) and reports bad input as
field errors, which the views turn into a 400 with the reason.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from analysis.figures import DEFAULT_HIDDEN, LAYERS, OVERLAY_CHOICES, PANE_CHOICES
from analysis.models import DetectedPatternType, Detector, PatternStatus, default_detector
from analysis.selectors.radar import DEFAULT_BARS, MAX_BARS
from marketdata.models import Market, Timeframe

DEFAULT_SYMBOL = "005930"
LAYERS_SENTINEL = "_"  # always submitted with the layer checkboxes, so "all unticked" survives


def errors_text(form: forms.Form) -> str:
    """'tf: Select a valid choice. …; bars: …' for a 400 body."""
    return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in form.errors.items())


def _initial(field: forms.Field):
    """A field's `initial`, called when it is a callable (a default read from settings)."""
    return field.initial() if callable(field.initial) else field.initial


class _DefaultsForm(forms.Form):
    """Empty or missing fields take the field's `initial` (also when the bound form is rendered,
    so a select shows the default that is in effect)."""

    def __init__(self, data=None, *args, **kwargs):
        if data is not None:
            data = data.copy()
            for name, field in self.base_fields.items():
                if not data.get(name) and field.initial is not None:
                    data[name] = _initial(field)
        super().__init__(data, *args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        for name, field in self.fields.items():
            empty = cleaned.get(name) in (None, "", [])
            if empty and name not in self.errors and field.initial is not None:
                cleaned[name] = _initial(field)
        return cleaned


UNKNOWN_DETECTOR_CHOICE = _("Unknown detector “%(value)s”; expected one of: %(names)s.")


class DetectorField(forms.ChoiceField):
    """`detector=`: a swing detector name (`Detector`), default `ANALYSIS_DEFAULT_DETECTOR`; an
    unknown name is refused with the list of names (UNKNOWN_DETECTOR_CHOICE)."""

    def __init__(self, **kwargs):
        super().__init__(
            choices=Detector.choices, required=False, initial=default_detector, **kwargs
        )

    def validate(self, value):
        if value and not self.valid_value(value):
            raise ValidationError(
                UNKNOWN_DETECTOR_CHOICE,
                code="invalid_choice",
                params={"value": value, "names": ", ".join(Detector.values)},
            )
        super().validate(value)


class ApiRadarForm(_DefaultsForm):
    symbol = forms.RegexField(regex=r"^[0-9A-Z]{6}$", max_length=6)
    tf = forms.ChoiceField(choices=Timeframe.choices, required=False, initial=Timeframe.D1)
    bars = forms.IntegerField(min_value=1, max_value=MAX_BARS, required=False, initial=DEFAULT_BARS)
    stored = forms.TypedChoiceField(
        choices=[("1", "stored"), ("0", "on the fly")],
        coerce=lambda v: v == "1",
        required=False,
        initial="1",
        help_text="0 recomputes the analysis instead of reading the stored one",
    )
    detector = DetectorField()


class RadarForm(_DefaultsForm):
    symbol = forms.CharField(max_length=20, required=False, initial=DEFAULT_SYMBOL)
    tf = forms.ChoiceField(choices=Timeframe.choices, required=False, initial=Timeframe.D1)
    detector = DetectorField()
    bars = forms.IntegerField(
        min_value=20, max_value=MAX_BARS, required=False, initial=DEFAULT_BARS
    )
    ind = forms.MultipleChoiceField(
        choices=list(OVERLAY_CHOICES.items()), required=False, widget=forms.CheckboxSelectMultiple
    )
    pane = forms.MultipleChoiceField(
        choices=list(PANE_CHOICES.items()), required=False, widget=forms.CheckboxSelectMultiple
    )
    layers = forms.MultipleChoiceField(
        choices=[(LAYERS_SENTINEL, ""), *LAYERS.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    asof = forms.IntegerField(min_value=0, required=False)
    focus_start = forms.DateTimeField(required=False)
    focus_end = forms.DateTimeField(required=False)

    def clean_symbol(self):
        return (self.cleaned_data.get("symbol") or "").strip().upper()

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("focus_start"), cleaned.get("focus_end")
        if (start is None) != (end is None):
            self.add_error("focus_end", _("focus_start and focus_end go together."))
        elif start is not None and end < start:
            self.add_error("focus_end", _("focus_end is before focus_start."))
        return cleaned

    def hidden_layers(self) -> list[str]:
        """Layers the user switched off. No `layers` parameter at all: the defaults, or every
        layer on when the link focuses a range (a Scanner row may be an invalidated pattern)."""
        if "layers" not in self.data:
            if self.cleaned_data.get("focus_start") is not None:
                return []
            return [key for key in LAYERS if key in DEFAULT_HIDDEN]
        shown = set(self.cleaned_data["layers"])
        return [key for key in LAYERS if key not in shown]

    def indicators(self) -> list[str]:
        return [*self.cleaned_data["ind"], *self.cleaned_data["pane"]]


class SymbolSearchForm(forms.Form):
    q = forms.CharField(max_length=40, required=False)


SCANNER_SORTS = {
    "recent": "Newest first",
    "score": "Highest score",
    "target": "Closest to target",
    "neckline": "Closest to neckline",
    "symbol": "Symbol",
}
# Each sort the other way round: "-score" = lowest score first (the header's second click).
SCANNER_SORTS |= {f"-{key}": f"{label} (reversed)" for key, label in list(SCANNER_SORTS.items())}
SCANNER_DEFAULT_DAYS = 20


class ScannerForm(_DefaultsForm):
    market = forms.ChoiceField(choices=[("", _("All markets")), *Market.choices], required=False)
    tf = forms.ChoiceField(choices=Timeframe.choices, required=False, initial=Timeframe.D1)
    type = forms.ChoiceField(
        choices=[("", _("All patterns")), *DetectedPatternType.choices], required=False
    )
    status = forms.ChoiceField(
        choices=[("", _("Any status")), *PatternStatus.choices], required=False
    )
    days = forms.IntegerField(
        min_value=1,
        max_value=5000,
        required=False,
        initial=SCANNER_DEFAULT_DAYS,
        help_text=_("trading days back (by the pattern's completion, or last bar while forming)"),
    )
    min_score = forms.FloatField(min_value=0, max_value=1, required=False)
    sort = forms.ChoiceField(choices=list(SCANNER_SORTS.items()), required=False, initial="recent")
    page = forms.IntegerField(min_value=1, required=False, initial=1)
    detector = DetectorField()


class PatternStatsForm(_DefaultsForm):
    """`/patterns/stats/` filters (all optional: every type, timeframe and market)."""

    type = forms.ChoiceField(
        choices=[("", _("All patterns")), *DetectedPatternType.choices], required=False
    )
    tf = forms.ChoiceField(choices=[("", _("All timeframes")), *Timeframe.choices], required=False)
    market = forms.ChoiceField(choices=[("", _("All markets")), *Market.choices], required=False)
    detector = DetectorField()
