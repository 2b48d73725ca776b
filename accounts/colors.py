"""Up/down colours of each candle convention: the one place the figure and the CSS take them from.

Pure (no Django): `analysis/figures.py` colours candles, volume and change figures with
`up_down_colors(convention)`; `static/css/app.css` holds the same values as `--up`/`--down` under
the `<body>` class `colors-<convention>` that `templates/base.html` sets.
"""

from typing import Final

KOREAN: Final = "kr"
INTERNATIONAL: Final = "intl"
DEFAULT: Final = KOREAN

# (up, down)
COLORS: Final[dict[str, tuple[str, str]]] = {
    KOREAN: ("#E0201B", "#1261C4"),
    INTERNATIONAL: ("#089981", "#F23645"),
}


def up_down_colors(convention: str) -> tuple[str, str]:
    """(rising colour, falling colour) of `convention`; an unknown one gets the default."""
    return COLORS.get(convention, COLORS[DEFAULT])
