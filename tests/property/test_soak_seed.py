"""`make soak`'s determinism by seed: a batch seeded alike draws the very same programs, so a batch
seed printed with a counterexample runs that batch again (tests/property/soak.py); and a program that crashes,
or a worker that dies, is never reported as a pass."""
from __future__ import annotations

from typing import Any

import tests.property.fast as fast
import tests.property.soak as soak
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


def test_a_program_that_raises_is_a_counterexample(monkeypatch: Any) -> None:
    """Before, an error other than a broken invariant left run_batch and ended the worker (docs/testing.md, "Slow
    pages and exact-name budget slots")."""
    def broken(sample: Any, variant: str = "redelivered") -> Any:
        raise ValueError("a harness bug")

    monkeypatch.setattr(fast, "run_sample", broken)
    result = run_batch(7100, 4)
    assert "CRASH: ValueError: a harness bug" in result.counterexample
    assert result.kinds == ("crash", "ValueError")


def test_batches_no_worker_ran_fail_the_soak(monkeypatch: Any, capsys: Any) -> None:
    """Every worker gone with batches left (one died): exit 1, said so; before, "0 counterexample(s)" and 0."""
    monkeypatch.setattr(soak, "_worker", lambda *args, **kwargs: None)
    assert soak.main(["--programs", "2", "--batch", "1", "--workers", "1", "--seed", "1"]) == 1
    assert "a worker died; not a pass" in capsys.readouterr().out
