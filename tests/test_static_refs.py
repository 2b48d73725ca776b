"""Every static file a template names exists in static/ (a vendored bundle renamed or removed
leaves no page loading a 404)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC_TAG = re.compile(r"""{%\s*static\s+['"]([^'"]+)['"]\s*%}""")


def test_every_static_path_in_a_template_exists():
    named = {
        (template.relative_to(ROOT), path)
        for template in (ROOT / "templates").rglob("*.html")
        for path in STATIC_TAG.findall(template.read_text(encoding="utf-8"))
    }
    assert len(named) > 10  # the pattern finds the tags
    missing = sorted(
        f"{template}: {path}" for template, path in named if not (ROOT / "static" / path).is_file()
    )
    assert missing == []
