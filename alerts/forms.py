"""Forms of the watchlist, alert and notification pages (they validate; services write)."""

from __future__ import annotations

from django import forms
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from marketdata.models import Stock, Timeframe

from .models import (
    AlertPatternStatus,
    AlertRule,
    CrossDirection,
    DetectedPatternType,
    RuleKind,
    TrendState,
    Watchlist,
)
from .services import RuleSpec

UNKNOWN_SYMBOL = _("Unknown symbol {symbol!r}: no stock with that code.")
ONE_SCOPE = _("Choose a watchlist or a symbol, not both.")
NO_SCOPE = _("Choose a watchlist or a symbol.")
PRICE_NEEDS_SYMBOL = _("A price level belongs to one symbol: choose a symbol, not a watchlist.")
REQUIRED_FOR_KIND = _("Required for this kind of rule.")
REQUIRED_FOR_CHANNEL = _("Required when this channel is on.")
MAX_LEVEL_KRW = 1e10


def _stock(code: str) -> Stock:
    code = code.strip().upper()
    stock = Stock.objects.filter(code=code).first()
    if stock is None:
        raise forms.ValidationError(UNKNOWN_SYMBOL.format(symbol=code))
    return stock


class WatchlistNameForm(forms.Form):
    name = forms.CharField(
        max_length=60, strip=True, label=pgettext_lazy("of a watchlist or an alert", "Name")
    )


class SymbolForm(forms.Form):
    """A stock by its 6-character KRX code; `cleaned_data["stock"]` is the row."""

    symbol = forms.CharField(max_length=12, strip=True, label=_("Symbol (code)"))

    def clean(self):
        cleaned = super().clean()
        if "symbol" in cleaned:
            try:
                cleaned["stock"] = _stock(cleaned["symbol"])
            except forms.ValidationError as error:
                self.add_error("symbol", error)
        return cleaned


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])

    @property
    def offset(self) -> int:
        return -1 if self.cleaned_data["direction"] == "up" else 1


_checkboxes = forms.CheckboxSelectMultiple


class AlertRuleForm(forms.Form):
    """One rule: what (kind and its fields), where (a watchlist or a symbol), on which
    timeframes. Fields that do not belong to the chosen kind are ignored."""

    name = forms.CharField(
        max_length=100,
        required=False,
        label=pgettext_lazy("of a watchlist or an alert", "Name"),
        help_text=_("Optional"),
    )
    kind = forms.ChoiceField(choices=RuleKind.choices, initial=RuleKind.PATTERN, label=_("Kind"))
    watchlist = forms.ModelChoiceField(
        queryset=Watchlist.objects.none(), required=False, empty_label="—", label=_("Watchlist")
    )
    symbol = forms.CharField(
        max_length=12, required=False, label=_("Symbol"), help_text=_("e.g. 005930")
    )
    timeframes = forms.MultipleChoiceField(
        choices=Timeframe.choices, widget=_checkboxes, initial=[Timeframe.D1], label=_("Timeframes")
    )
    pattern_types = forms.MultipleChoiceField(
        choices=DetectedPatternType.choices,
        required=False,
        widget=_checkboxes,
        label=_("Patterns"),
    )
    pattern_statuses = forms.MultipleChoiceField(
        choices=AlertPatternStatus.choices,
        required=False,
        widget=_checkboxes,
        label=_("When it is"),
        initial=[AlertPatternStatus.COMPLETED],
    )
    level = forms.FloatField(
        required=False, min_value=0.01, max_value=MAX_LEVEL_KRW, label=_("Price level (KRW)")
    )
    direction = forms.ChoiceField(
        choices=CrossDirection.choices,
        required=False,
        initial=CrossDirection.ANY,
        label=_("Direction"),
    )
    trend_states = forms.MultipleChoiceField(
        choices=TrendState.choices, required=False, widget=_checkboxes, label=_("Trend turns")
    )
    once = forms.BooleanField(required=False, label=_("Switch off after the first notification"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["watchlist"].queryset = Watchlist.objects.owned_by(user)

    @classmethod
    def initial_for(cls, rule: AlertRule) -> dict:
        return {
            "name": rule.name,
            "kind": rule.kind,
            "watchlist": rule.watchlist_id,
            "symbol": rule.stock.code if rule.stock_id else "",
            "timeframes": rule.timeframe_list,
            "pattern_types": rule.pattern_type_list,
            "pattern_statuses": rule.pattern_status_list,
            "level": rule.level,
            "direction": rule.direction,
            "trend_states": rule.trend_state_list,
            "once": rule.once,
        }

    def clean(self):
        cleaned = super().clean()
        watchlist, symbol = cleaned.get("watchlist"), cleaned.get("symbol", "").strip()
        if watchlist and symbol:
            raise forms.ValidationError(ONE_SCOPE)
        if not watchlist and not symbol:
            raise forms.ValidationError(NO_SCOPE)
        if symbol:
            try:
                cleaned["stock"] = _stock(symbol)
            except forms.ValidationError as error:
                self.add_error("symbol", error)
        kind = cleaned.get("kind")
        needed = {
            RuleKind.PATTERN: ["pattern_types", "pattern_statuses"],
            RuleKind.PRICE: ["level", "direction"],
            RuleKind.TREND: ["trend_states"],
        }.get(kind, [])
        for name in needed:
            if cleaned.get(name) in (None, "", []) and name not in self.errors:
                self.add_error(name, REQUIRED_FOR_KIND)
        if kind == RuleKind.PRICE and watchlist:
            self.add_error("watchlist", PRICE_NEEDS_SYMBOL)
        return cleaned

    def spec(self) -> RuleSpec:
        data = self.cleaned_data
        return RuleSpec(
            kind=data["kind"],
            timeframes=data["timeframes"],
            watchlist=data.get("watchlist"),
            stock=data.get("stock"),
            name=data.get("name", ""),
            pattern_types=data.get("pattern_types", []),
            pattern_statuses=data.get("pattern_statuses", []),
            level=data.get("level"),
            direction=data.get("direction", ""),
            trend_states=data.get("trend_states", []),
            once=data.get("once", False),
        )


class NecklineAlertForm(SymbolForm):
    """The Radar's one-click alert on one detected pattern (symbol resolved by SymbolForm)."""

    tf = forms.ChoiceField(choices=Timeframe.choices)
    pattern_type = forms.ChoiceField(choices=DetectedPatternType.choices)
    start_ts = forms.DateTimeField(help_text="The pattern's first bar (ISO 8601)")


class NotificationSettingsForm(forms.Form):
    email_enabled = forms.BooleanField(required=False, label=_("Send e-mails"))
    email = forms.EmailField(required=False, label=_("E-mail address"))
    webhook_enabled = forms.BooleanField(required=False, label=_("Call my webhook"))
    webhook_url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
        label=_("Webhook URL"),
        help_text=_("http:// or https://; receives a signed JSON POST per notification"),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("email_enabled") and not cleaned.get("email"):
            self.add_error("email", REQUIRED_FOR_CHANNEL)
        if cleaned.get("webhook_enabled") and not cleaned.get("webhook_url"):
            self.add_error("webhook_url", REQUIRED_FOR_CHANNEL)
        return cleaned


class NotificationFilterForm(forms.Form):
    unread = forms.BooleanField(required=False)
    page = forms.IntegerField(min_value=1, required=False)
