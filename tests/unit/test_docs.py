"""The documentation holds to the code: a short README with its diagram, modules that exist, links that resolve.

- README.md is a front door: at most 300 lines, with a mermaid diagram on its first screen (first 60 lines);
- every module docs/architecture.md names exists: dotted names of the project's packages (resolved through
  pyproject.toml's ``[tool.setuptools.package-dir]``, without importing anything) and repository paths to
  ``.py`` files;
- every relative link in README.md and docs/*.md points to a file that exists;
- the runbook's commands in docs/operations.md are the README's (tests/integration/test_runbook.py holds those).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
ARCHITECTURE = DOCS / "architecture.md"
MAX_README_LINES = 300
FIRST_SCREEN_LINES = 60

PACKAGE_DIRS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
# A dotted name of one of the project's packages, standing on its own (not inside a path or a longer word).
DOTTED = re.compile(
    r"(?<![\w./-])(?:" + "|".join(sorted(PACKAGE_DIRS, key=len, reverse=True)) + r")(?:\.\w+)*(?![\w/-])"
)
PY_PATH = re.compile(r"(?<![\w./-])(?:[\w-]+/)*[\w-]+\.py\b")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def module_file(dotted: str) -> Path | None:
    """The package folder or .py file a dotted name resolves to through package-dir, or None."""
    top, *rest = dotted.split(".")
    path = ROOT / PACKAGE_DIRS[top]
    for part in rest:
        path /= part
    if path.is_dir() and (path / "__init__.py").is_file():
        return path
    file = path.with_suffix(".py")
    return file if file.is_file() else None


def named_modules(text: str) -> tuple[set[str], set[str]]:
    """The dotted module names and the .py repository paths a page names (code blocks included)."""
    return set(DOTTED.findall(text)), set(PY_PATH.findall(text))


def missing_modules(text: str) -> list[str]:
    dotted, paths = named_modules(text)
    missing = [name for name in sorted(dotted) if module_file(name) is None]
    missing += [path for path in sorted(paths) if not (ROOT / path).is_file()]
    return missing


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL (https:, mailto:) or an anchor on the same page
        path = target.split("#", 1)[0]
        if not (page.parent / path).exists():
            broken.append(target)
    return broken


def test_the_readme_is_short_and_shows_the_architecture_on_its_first_screen() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move detail to docs/"
    assert "```mermaid" in (line.strip() for line in lines[:FIRST_SCREEN_LINES]), (
        f"README.md: no ```mermaid block in its first {FIRST_SCREEN_LINES} lines"
    )


def test_every_module_the_architecture_names_exists() -> None:
    text = ARCHITECTURE.read_text()
    dotted, paths = named_modules(text)
    assert len(dotted) > 50, "docs/architecture.md names the modules, package by package"
    assert paths, "docs/architecture.md names the Lambda handlers by path"
    assert not missing_modules(text), f"docs/architecture.md names modules that do not exist: {missing_modules(text)}"


@pytest.mark.parametrize("page", markdown_files(), ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    assert not broken_links(page), f"{page.relative_to(ROOT)}: links to nothing: {broken_links(page)}"


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    """A module that is not there, a stale path and a dead link are each found; real ones are not."""
    text = "`windpitch.runtime`, `windpitch_batch.store`, `layers/model/windpitch/schema.py`, `windpitch_cli`"
    assert missing_modules(text) == []
    bogus = "`windpitch.no_such_module`, `windpitch_api.routes.nested`, `functions/nowhere/app.py`, windpitch_zzz.x"
    assert missing_modules(bogus) == [
        "windpitch.no_such_module",
        "windpitch_api.routes.nested",
        "functions/nowhere/app.py",
    ]
    assert DOTTED.findall("`python -m windpitch predict`, `.windpitch-layer.json`, layers/model/windpitch/") == [
        "windpitch"
    ]
    page = tmp_path / "page.md"
    page.write_text("[ok](page.md) [anchor](#x) [web](https://example.org) [dead](gone.md#part)")
    assert broken_links(page) == ["gone.md#part"]


def test_the_runbook_in_docs_is_the_readmes() -> None:
    def runbook(text: str) -> str:
        [block] = [b for b in re.findall(r"```bash\n(.*?)```", text, re.DOTALL) if "make promote" in b]
        return block

    assert runbook((DOCS / "operations.md").read_text()) == runbook(README.read_text())
