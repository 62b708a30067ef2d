"""Outside-controlled text as the CLI prints it.

Log lines, alert and policy names, reasons and evidence are input: whoever wrote a log line or named
an alert policy chose them. A terminal acts on some characters instead of showing them (ESC starts
its escape sequences: clear the screen, retitle the window, OSC 52 writes the clipboard) and the bidi
overrides reorder what is shown around them; every CLI output shows each as its escape
(shared/timeline/words.py `visible`, as an outcome's `render` does) and never hands text to rich as
markup (a log line holding `[/x]` is text, not a closing tag).
"""
from __future__ import annotations

import json
from typing import Any

from rich.markup import escape

from shared.timeline.words import _UNSHOWN, visible


def shown(value: Any) -> Any:
    """`value` (a report, an outcome: dicts, lists, strings) with every string made `visible`."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {shown(k): shown(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(shown(v) for v in value)
    return value


def markup(value: object) -> str:
    """Text to put inside a rich markup string: shown, and its `[` never read as a tag."""
    return escape(visible(value))


def json_text(value: Any, **options: Any) -> str:
    """`json.dumps(value, **options)` with every control and bidi character as a \\uXXXX escape: JSON
    escapes only U+0000-U+001F itself, and with ensure_ascii=False it prints C1 and bidi characters raw."""
    return _UNSHOWN.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, **options))
