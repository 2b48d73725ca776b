from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CandleColors, Language


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        choices=Language.choices,
        required=False,
        help_text=_("“Browser setting” follows your browser’s language; Korean otherwise."),
    )
    candle_colors = forms.ChoiceField(
        label=_("Candle colours"),
        choices=CandleColors.choices,
        widget=forms.RadioSelect,
        help_text=_("Candles, volume, price changes, the Scanner and watchlists."),
    )
