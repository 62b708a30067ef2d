"""Field types every scenario section shares: offsets from T0, durations, and the base model."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

_OFFSET = re.compile(r"^([+-]?)(\d+(?:\.\d+)?)(s|m|h|d)$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_offset(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if value == 0 or value == "0":
        return timedelta(0)
    match = _OFFSET.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"expected an offset like -90s, -10m, +2m or -3h (units s, m, h, d), got {value!r}")
    sign, amount, unit = match.groups()
    delta = timedelta(**{_UNIT[unit]: float(amount)})
    return -delta if sign == "-" else delta


def parse_duration(value: Any) -> timedelta:
    delta = parse_offset(value)
    if delta <= timedelta(0):
        raise ValueError(f"expected a positive duration like 60s or 5m, got {value!r}")
    return delta


Offset = Annotated[timedelta, BeforeValidator(parse_offset)]
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
