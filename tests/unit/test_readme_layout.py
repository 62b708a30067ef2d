"""README's "Module by module" names every module of the packages it covers, each in its own
package's paragraph, and names none that is gone: a newcomer reads the layout there first."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COVERED = ("shared", "sandbox", "cli", "bench", "functions")


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("### Module by module")
    return text[start:text.index("\n## ", start)]


def _paragraphs() -> dict[str, str]:
    """Each paragraph by the package its bold heading names (`**`shared/diagnosis/`**`); the entry
    points' paragraph is `functions/`."""
    found = {}
    for paragraph in _section().split("\n\n"):
        heading = re.match(r"\*\*`([a-z_/]+/)`\*\*", paragraph)
        if heading:
            found[heading.group(1)] = paragraph
        elif paragraph.startswith("**Entry points.**"):
            found["functions/"] = paragraph
    return found


def _modules() -> list[Path]:
    return sorted(p.relative_to(ROOT) for package in COVERED for p in (ROOT / package).rglob("*.py")
                  if p.name != "__init__.py" and "__pycache__" not in p.parts)


def _home(module: Path, paragraphs: dict[str, str]) -> str:
    """The deepest package with a paragraph of its own that holds the module."""
    for depth in range(len(module.parts) - 1, 0, -1):
        package = "/".join(module.parts[:depth]) + "/"
        if package in paragraphs:
            return package
    raise AssertionError(f"no paragraph for {module}")


@pytest.mark.parametrize("module", _modules(), ids=str)
def test_every_module_has_its_line(module: Path):
    paragraphs = _paragraphs()
    paragraph = paragraphs[_home(module, paragraphs)]
    assert f"`{module.name}`" in paragraph or f"`{module.as_posix()}`" in paragraph, f"README names no {module}"


def test_every_module_named_exists():
    for package, paragraph in _paragraphs().items():
        for name in re.findall(r"`(?:[a-z_]+/)*([a-z_]+\.py)`", paragraph):
            if name == "main.py" and package == "functions/":
                continue   # the root's main.py, named beside the entry points
            assert list((ROOT / package).rglob(name)), f"README names {package}{name}, which does not exist"


def test_every_terraform_file_and_submodule_has_its_place():
    paragraph = _paragraphs()["infra/"]
    infra = ROOT / "infra"
    named = [f"`{p.name}`" for p in infra.glob("*.tf")] + [f"`{d.name}/" for d in infra.iterdir()
                                                           if d.is_dir() and not d.name.startswith(".")]
    missing = [name for name in named if name not in paragraph]
    assert not missing, f"README's infra/ paragraph names none of {missing}"
