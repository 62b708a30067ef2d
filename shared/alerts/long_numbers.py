"""JSON numbers longer than Python reads, said as such.

Python turns a JSON integer into a number only up to `sys.get_int_max_str_digits()` digits (4300 by default:
Python docs, "Integer string conversion length limitation"); past it, json.loads raises int()'s ValueError, whose
words are Python's own advice ("use sys.set_int_max_str_digits() to increase the limit") and name neither where
the number is nor what to send. Such a body is valid JSON by its grammar (RFC 8259 §6 lets a reader limit the
range it accepts), and no field of a command or a notification takes a number anywhere near that long.
"""
from __future__ import annotations

import sys


class NumberTooLong(ValueError):
    """A JSON integer too long to read (`whole_number`), with its text as sent."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def said(self, body: str) -> str:
        """Where it is in `body`, how long, and the limit: "a number 5000 digits long at character 42 (…)"."""
        return (f"a number {len(self.text.lstrip('-'))} digits long at character {body.find(self.text) + 1} "
                f"({self.text[:12]}...): a JSON number is read up to {sys.get_int_max_str_digits()} digits")


def whole_number(text: str) -> int:
    """json.loads' `parse_int` (Python docs, json): int(text), or `NumberTooLong` when it is too long to read."""
    try:
        return int(text)
    except ValueError:
        raise NumberTooLong(text) from None
