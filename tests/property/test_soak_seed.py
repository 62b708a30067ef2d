"""`make soak`'s determinism by seed: a batch seeded alike draws the very same programs, so a batch
seed printed with a counterexample runs that batch again (tests/property/soak.py)."""
from __future__ import annotations

from typing import Any

import tests.property.fast as fast
from tests.property.soak import run_batch

_RUN_SAMPLE = fast.run_sample


def _programs(monkeypatch: Any, seed: int, size: int) -> list[str]:
    """The programs `run_batch(seed, size)` ran, in order (each run on the fast tier as always)."""
    drawn: list[str] = []
    def noted(sample: Any, variant: str = "redelivered") -> Any:
        scenario, config, program = sample
        drawn.append(f"{variant} {scenario} {sorted(config.items())} " + "; ".join(map(str, program)))
        return _RUN_SAMPLE(sample, variant)

    monkeypatch.setattr(fast, "run_sample", noted)
    result = run_batch(seed, size)
    assert not result.counterexample, result.counterexample
    assert result.programs == len(drawn) == size
    return drawn


def test_the_same_seed_draws_the_same_programs(monkeypatch: Any) -> None:
    first = _programs(monkeypatch, 7100, 8)
    assert _programs(monkeypatch, 7100, 8) == first
    assert _programs(monkeypatch, 7101, 8) != first   # and the seed decides them
