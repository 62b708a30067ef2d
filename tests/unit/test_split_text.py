"""How a traffic split is worded, the one wording the Run adapter's errors and the sweep's verdicts share
(shared/diagnosis/evidence.py: split_text)."""
from __future__ import annotations

import pytest

from shared.diagnosis.evidence import TrafficTarget, TrafficType, split_text


def _to(revision: str | None, percent: int, tag: str = "") -> TrafficTarget:
    kind = TrafficType.REVISION if revision else TrafficType.LATEST
    return TrafficTarget(type=kind, revision=revision, percent=percent, tag=tag)


@pytest.mark.parametrize("targets, text", [
    ((_to("b-1", 100),), "b-1 100%"),
    ((_to(None, 100),), "LATEST 100%"),
    ((_to("b-1", 90), _to("b-2", 10)), "b-1 90%, b-2 10%"),
    ((_to("b-2", 100, "canary"),), "b-2 100% (tag canary)"),
    ((_to("b-1", 100), _to("b-2", 0, "blue")), "b-1 100%"),     # a tag at 0% carries no traffic
    ((), ""),
], ids=["one revision", "latest", "a split in order", "a tag on a target with traffic", "a tag at 0%", "none"])
def test_a_split_names_each_target_that_carries_traffic(targets, text):
    assert split_text(targets) == text
