"""Signature rules: one module each, a pure function from facts to a Finding.

A rule matches only when every one of its checks passes on data that is present; each check
is cited as an evidence item whether it passed or not, so a person sees why.
"""
from __future__ import annotations

from typing import Callable

from shared.diagnosis.facts import Facts
from shared.diagnosis.rules import (bad_revision, capacity, connector_saturation, database_unreachable, request_timeout,
                          startup_config_failure)
from shared.diagnosis.signatures import Finding

RULES: tuple[Callable[[Facts], Finding], ...] = (
    startup_config_failure.evaluate,
    bad_revision.evaluate,
    connector_saturation.evaluate,
    database_unreachable.evaluate,
    request_timeout.evaluate,
    capacity.evaluate,
)
