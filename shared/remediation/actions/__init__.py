"""The action registry. Each action is a small module that registers itself here."""
from __future__ import annotations

from shared.remediation.actions.base import Action, ActionParams

_REGISTRY: dict[str, Action] = {}


def register(cls: type[Action]) -> type[Action]:
    if cls.name in _REGISTRY:
        raise ValueError(f"action {cls.name!r} is registered twice")
    _REGISTRY[cls.name] = cls()
    return cls


def get_action(name: str) -> Action:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown action {name!r}; known: {sorted(_REGISTRY)}") from None


def all_actions() -> dict[str, Action]:
    _load_builtin()
    return dict(_REGISTRY)


_LOADED = False


def _load_builtin() -> None:
    # Imported here, not at the top, so that the registry module has no import cycle; once: an
    # import statement from a package runs importlib's Python `_handle_fromlist` every time, and
    # the gate asks for the actions on every delivery, a duplicate's included.
    global _LOADED
    if _LOADED:
        return
    from shared.remediation.actions import restore_traffic, rollback_traffic, scale_connector  # noqa: F401
    _LOADED = True


__all__ = ["Action", "ActionParams", "register", "get_action", "all_actions"]
