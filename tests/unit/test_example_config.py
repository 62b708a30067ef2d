from pathlib import Path

from shared.config import load_config


def test_the_example_config_is_valid():
    config = load_config(Path(__file__).resolve().parents[2] / "runwarden.example.yaml")
    assert config.dry_run


# What only an operator may do (shared/commands: every `require_operator` call); the example's and
# docs/configuration.md's comments on `operators` must name each, so that nobody fills the list
# for approvals alone and finds their manual connector scale rejected.
_OPERATOR_ONLY = ("approve", "reject", "release", "override_limits", "allow_one_way")


def _operators_comment(text: str) -> str:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("operators:"))
    comment = [lines[start].split("#", 1)[1]]
    for line in lines[start + 1:]:
        if not line.lstrip().startswith("#") or line.startswith("#"):
            break
        comment.append(line.split("#", 1)[1])
    return " ".join(comment)


def test_the_operators_comments_name_everything_only_an_operator_may_do():
    root = Path(__file__).resolve().parents[2]
    for path in (root / "runwarden.example.yaml", root / "docs" / "configuration.md"):
        comment = _operators_comment(path.read_text())
        missing = [what for what in _OPERATOR_ONLY if what not in comment]
        assert not missing, f"{path.name}: the comment on operators does not name {missing}"


def test_every_operator_only_command_is_in_the_list():
    """A new `require_operator` call must be added to _OPERATOR_ONLY (and to the comments)."""
    root = Path(__file__).resolve().parents[2]
    calls = sum(p.read_text().count("require_operator(") for p in (root / "shared" / "commands").glob("*.py"))
    assert calls - 1 == 5, "a new operator-only command: name it in the operators comments and in _OPERATOR_ONLY"
