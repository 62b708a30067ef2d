import re
from pathlib import Path

from shared.alerts import operators

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
    """Each `require_operator` call names a rule of shared/alerts/operators.py (the list the CLI's help and the
    refusal read), and each rule is checked somewhere; a new one must be added to _OPERATOR_ONLY (and to the
    comments)."""
    root = Path(__file__).resolve().parents[2]
    text = "".join(p.read_text() for p in (root / "shared" / "commands").glob("*.py"))
    called = [name for name in re.findall(r"require_operator\((\w+)", text) if name != "self"]   # not the def
    rules = {name for name, value in vars(operators).items() if isinstance(value, operators.OperatorOnly)}
    assert sorted(called) == sorted(rules) and len(rules) == len(operators.OPERATOR_ONLY) == 5, called
    assert all(any(word in rule.may for word in _OPERATOR_ONLY) for rule in operators.OPERATOR_ONLY), \
        "a new operator-only command: name it in the operators comments and in _OPERATOR_ONLY"
