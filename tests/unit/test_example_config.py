import re
from pathlib import Path
from typing import get_origin

from shared.alerts import operators

from pydantic import BaseModel

from shared.config import Config, load_config


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


# README ("Operating") and docs/configuration.md say runwarden.example.yaml documents every field and its
# default: a field added to shared/config.py and not to the example is a setting nobody reading the
# example can find (diagnosis.max_incident_window_seconds was missing). Every field, nested ones and a
# connector policy's included, is written in the example; where its value is not the default, the
# default is named in the comments of its section, or the field has none (a name the reader must write).
_EXAMPLE = Path(__file__).resolve().parents[2] / "runwarden.example.yaml"


def _fields(model: type[BaseModel], data: object, path: tuple[str, ...] = ()):
    """(path, field, the example's value or _ABSENT) for every field of `model`, walking into sections and
    into the first entry of a list of sections (bounds.connectors)."""
    for name, field in model.model_fields.items():
        here = (*path, name)
        value = data.get(name, _ABSENT) if isinstance(data, dict) else _ABSENT
        yield here, field, value
        inner = _section_model(field.annotation)
        if inner is None or value is _ABSENT:
            continue
        if isinstance(value, list):
            value = value[0] if value else _ABSENT
            here = (*here, "0")
        if value is not _ABSENT:
            yield from _fields(inner, value, here)


_ABSENT = object()


def _section_model(annotation: object) -> type[BaseModel] | None:
    """The section a field holds, itself or as a list of them; not a mapping of sections by name (`actions`,
    whose entries the example's comment shows), which the example may leave empty."""
    if get_origin(annotation) is dict:
        return None
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _example_fields():
    import yaml

    return list(_fields(Config, yaml.safe_load(_EXAMPLE.read_text())))


def test_the_example_writes_every_field():
    missing = [".".join(path) for path, _, value in _example_fields() if value is _ABSENT]
    assert not missing, f"runwarden.example.yaml does not write {missing}: add each with its default and a comment"


def _plain(value: object) -> object:
    value = getattr(value, "value", value)                      # an Enum: its word
    return list(value) if isinstance(value, tuple) else value


def _section_comments(path: tuple[str, ...]) -> str:
    """The comments of the lines of the example's section that holds `path`'s field (its parent's block)."""
    lines = _EXAMPLE.read_text().splitlines()
    parent = next(p for p in reversed(path[:-1]) if not p.isdigit()) if len(path) > 1 else None
    if parent is None:
        return " ".join(line.split("#", 1)[1] for line in lines if "#" in line and line.startswith(path[0] + ":"))
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith(f"{parent}:"))
    indent = len(lines[start]) - len(lines[start].lstrip())
    block = [lines[start]]
    for line in lines[start + 1:]:
        if line.strip() and not line.lstrip().startswith("#") and len(line) - len(line.lstrip()) <= indent:
            break
        block.append(line)
    return " ".join(line.split("#", 1)[1] for line in block if "#" in line)


def test_the_example_shows_each_default_or_names_it():
    wrong = []
    for path, field, value in _example_fields():
        if value is _ABSENT or _section_model(field.annotation) is not None or field.is_required():
            continue
        default = _plain(field.default)
        if value == default or default in (None, [], {}):
            continue            # the default itself, or none to show (an empty list, an unset topic)
        comments = _section_comments(path)
        if "default" not in comments or str(default) not in comments:
            wrong.append(f"{'.'.join(path)}: {value!r}, default {default!r} named in no comment of its section")
    assert not wrong, wrong
