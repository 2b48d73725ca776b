"""The repo explains itself: every citation in it can be opened in the repo.

Fails when a file cites a `docs/…`, `README.md` or `DEVELOPERS.md` path (or a `#section` of one)
that does not exist, when a Markdown document names a repo path in backticks or links a file
that does not exist, or when a file cites documents that live outside the repo (the original
product's reference notes) or an issue number instead of saying the reason in words.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Not part of the repo's own text: tooling state, runtime state, vendored bundles.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".venv",
        "var",
        "staticfiles",
        "test-artifacts",
        "__pycache__",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        "node_modules",
    }
)
TEXT_SUFFIXES = frozenset(
    {".py", ".md", ".html", ".js", ".css", ".txt", ".toml", ".yml", ".yaml", ".sh", ".cfg"}
)
TEXT_NAMES = frozenset({"Makefile", "Dockerfile", ".env.example"})

# Citations a reader of the repo cannot open. This module is exempt (its tests contain them).
FORBIDDEN = [
    (re.compile(r"/shared/reference"), "cites the reference notes outside the repo"),
    (re.compile(r"original-[\w-]*\.md"), "cites a reference document outside the repo"),
    (re.compile(r"seed-plan"), "cites a planning document outside the repo"),
    (re.compile(r"reference\s*§"), "cites a section of the reference notes outside the repo"),
    (re.compile(r"(?i)\bissues?\s*#?\d+"), "cites an issue number; say the reason in words"),
]
DOC_CITATION = re.compile(
    r"(?<![\w./-])((?:docs/[\w./-]+\.md|DEVELOPERS\.md|README\.md)(?:#[\w-]+)?)"
)
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
BACKTICKED = re.compile(r"`([^`\n]+)`")
PLACEHOLDER = re.compile(r"[<>*{}$…|]")


def text_files(root: Path) -> list[Path]:
    """Every text file of the repo under `root`, skipping tooling and runtime state."""
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in SKIPPED_DIRS for part in rel.parts) or not path.is_file():
            continue
        if path.name.endswith(".min.js"):
            continue
        if path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES:
            out.append(path)
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(markdown: Path) -> set[str]:
    """The `#anchors` of a Markdown file's headings (duplicates numbered as GitHub does)."""
    found: set[str] = set()
    in_code = False
    for line in markdown.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        match = re.match(r"#{1,6}\s+(.*)", line)
        if in_code or not match:
            continue
        base = slug(match.group(1))
        name, n = base, 0
        while name in found:
            n += 1
            name = f"{base}-{n}"
        found.add(name)
    return found


def _target_problem(root: Path, base: Path, target: str) -> str | None:
    """Why `target` (path[#anchor], relative to `base`) cannot be opened, or None."""
    path_part, _, anchor = target.partition("#")
    path = (base / path_part).resolve() if path_part else None
    if path is not None and not path.exists():
        return f"{target}: no such file in the repo"
    if anchor:
        document = path
        if document is None or document.suffix != ".md":
            return None
        if anchor not in anchors(document):
            return f"{target}: {document.relative_to(root)} has no section #{anchor}"
    return None


def citation_problems(root: Path) -> list[str]:
    """Every citation under `root` that a reader of the repo could not follow."""
    root = root.resolve()
    this_file = Path(__file__).resolve().relative_to(ROOT)
    top_level = {p.name for p in root.iterdir() if p.name not in SKIPPED_DIRS}
    problems = []
    for path in text_files(root):
        rel = path.relative_to(root)
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            where = f"{rel}:{number}"
            if rel == this_file:
                break  # its own examples
            for pattern, why in FORBIDDEN:
                if pattern.search(line):
                    problems.append(f"{where}: {why}: {line.strip()}")
            for target in DOC_CITATION.findall(line):
                problem = _target_problem(root, root, target)
                if problem:
                    problems.append(f"{where}: {problem}")
            if path.suffix != ".md":
                continue
            for target in MARKDOWN_LINK.findall(line):
                if re.match(r"[a-z]+:", target):
                    continue  # http(s), mailto
                if target.startswith("#"):
                    target = f"{path.name}{target}"
                problem = _target_problem(root, path.parent, target)
                if problem:
                    problems.append(f"{where}: {problem}")
            for quoted in BACKTICKED.findall(line):
                for token in quoted.split():
                    token = token.rstrip(".,;:)")
                    if "/" not in token or PLACEHOLDER.search(token):
                        continue
                    if token.split("/")[0] not in top_level:
                        continue  # a URL path, an absolute path, a Python dotted name
                    if not (root / token.split("#")[0]).exists():
                        problems.append(f"{where}: `{token}`: no such path in the repo")
    return list(dict.fromkeys(problems))  # a target both cited and linked: once


def test_every_citation_in_the_repo_can_be_opened():
    problems = citation_problems(ROOT)
    assert problems == [], "\n".join(problems)


def test_the_docs_exist_and_name_their_sections():
    rules = anchors(ROOT / "docs" / "analysis-rules.md")
    assert {"swing-detection-atr-detector", "trend-periods", "chart-patterns"} <= rules
    assert {"indicators", "causality", "engine-version"} <= rules
    assert {"layers", "data-path", "where-code-lives"} <= anchors(ROOT / "docs" / "architecture.md")


def test_the_checker_reports_each_kind_of_broken_citation(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "rules.md").write_text("# Rules\n\n## Swing detection (ATR detector)\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "core.py").write_text(
        "# docs/rules.md#swing-detection-atr-detector is fine\n"
        "# see docs/rules.md#zigzag\n"
        "# see docs/missing.md\n"
        "# reference §2.7\n"
        "# see original-analysis.md\n"
        "# fixed in issue 6\n"
    )
    (tmp_path / "README.md").write_text(
        "[rules](docs/rules.md) [gone](docs/gone.md) [here](#nowhere)\n"
        "`app/core.py` `app/absent.py` `/healthz` `templates/<app>/x.html`\n"
    )
    problems = citation_problems(tmp_path)
    assert problems == [
        "README.md:1: docs/gone.md: no such file in the repo",
        "README.md:1: README.md#nowhere: README.md has no section #nowhere",
        "README.md:2: `app/absent.py`: no such path in the repo",
        "app/core.py:2: docs/rules.md#zigzag: docs/rules.md has no section #zigzag",
        "app/core.py:3: docs/missing.md: no such file in the repo",
        "app/core.py:4: cites a section of the reference notes outside the repo: # reference §2.7",
        "app/core.py:5: cites a reference document outside the repo: # see original-analysis.md",
        "app/core.py:6: cites an issue number; say the reason in words: # fixed in issue 6",
    ]
