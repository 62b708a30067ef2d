"""Instructions a cold LARGE diagnosis executes, counted by valgrind: the whole of it, or only what
runs inside named functions.

On a machine shared with other work, CPU time moves with the neighbours; the number of instructions
a diagnosis executes does not (docs/performance.md, "Diagnosis"). The LARGE evidence is recorded
once through the real adapters and the stand-ins (bench/diagnosis_speed.py), then diagnosed in a
worker process run under valgrind, each diagnosis cold (the per-text caches cleared first, as a new
incident's lines are new), after one warm-up diagnosis.

- With no function named: cachegrind counts a worker making 20 cold diagnoses and the same worker
  only clearing the caches 20 times; the difference over 20 is one cold diagnosis.
- Given functions ("module:qualified.name", e.g. shared.diagnosis.facts:LogIndex.__init__ or
  shared.diagnosis.rules.connector_signs:stress), one callgrind run each, collecting only while
  that function runs (every reference to it in shared.diagnosis patched, and in the tables that list it:
  the rules' tuple, a rule's tuple of checks such as database_unreachable._DEPLOYS_OWN;
  calls nested inside it are counted once): its instructions per cold diagnosis, callees included.
  The switch is callgrind's client request CALLGRIND_TOGGLE_COLLECT, compiled into a small shared
  library from valgrind's own header (valgrind/callgrind.h; needs a C compiler).

    .venv/bin/python bench/diagnosis_instructions.py
    .venv/bin/python bench/diagnosis_instructions.py shared.diagnosis.facts:LogIndex.top_error_texts

The hash seed is fixed (PYTHONHASHSEED=0): with another seed a count moves by up to 0.1 million.

The evidence crosses to the worker as JSON, whose decoding gives every datetime pydantic's own UTC
tzinfo (pydantic_core's TzInfo), while the adapters build theirs on `timezone.utc`, as diagnosis builds
its windows: comparing two datetimes whose tzinfo objects differ asks each for its UTC offset, one of
the same tzinfo compares their fields (CPython Modules/_datetimemodule.c, datetime_richcompare). With
`--utc` the worker puts `timezone.utc` back on every UTC datetime first: the product's case.

    .venv/bin/python bench/diagnosis_instructions.py --utc
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 20          # cold diagnoses counted by cachegrind
PART_RUNS = 10     # ... and by callgrind, inside the named functions
_TOGGLE_C = "#include <valgrind/callgrind.h>\nvoid toggle(void) { CALLGRIND_TOGGLE_COLLECT; }\n"


def worker(evidence: str, runs: int, diagnose_too: bool, targets: list[str], toggle: str, utc: bool = False) -> None:
    """One warm diagnosis, then `runs` cold ones (or only the clearing, without `diagnose_too`)."""
    sys.path.insert(0, str(ROOT))
    import shared.gcp.logging  # noqa: F401  the modules the product process holds too
    import shared.gcp.monitoring  # noqa: F401
    from bench.diagnosis_speed import forget
    from shared.diagnosis.evidence import EvidenceBundle

    bundle = EvidenceBundle.model_validate_json(Path(evidence).read_text())
    if utc:
        bundle = _on_utc(bundle)
    settings = _large()
    collecting = _collect_inside(targets, toggle) if targets else None
    import shared.diagnosis.diagnose as diagnosis   # read after the patching: RULES may be another tuple

    forget()
    diagnosis.diagnose(bundle, settings)
    if collecting is not None:
        collecting[0] = True
    for _ in range(runs):
        forget()
        if diagnose_too:
            diagnosis.diagnose(bundle, settings)


def _on_utc(value):
    """`value` with `timezone.utc` on each of its UTC datetimes, as the adapters build them; models,
    tuples (an `Entries` read again as one) and dicts rebuilt only where something changed."""
    from datetime import datetime, timedelta, timezone

    from pydantic import BaseModel
    if isinstance(value, datetime):
        utc = value.tzinfo is not None and value.tzinfo is not timezone.utc and value.utcoffset() == timedelta(0)
        return value.replace(tzinfo=timezone.utc) if utc else value
    if isinstance(value, BaseModel):
        changed = {}
        for name in type(value).model_fields:
            old = getattr(value, name)
            new = _on_utc(old)
            if new is not old:
                changed[name] = new
        return value.model_copy(update=changed) if changed else value
    if isinstance(value, tuple):
        items = [_on_utc(v) for v in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        return type(value)(items) if type(value) is not tuple else tuple(items)
    if isinstance(value, dict):
        items = {k: _on_utc(v) for k, v in value.items()}
        return items if any(items[k] is not v for k, v in value.items()) else value
    return value


def _large():
    from shared.config import DiagnosisSettings
    return DiagnosisSettings(baseline_seconds=24 * 3600, max_log_entries=1000)


def _collect_inside(targets: list[str], toggle: str) -> list[bool]:
    """Wraps each target so that callgrind collects only while one of them runs (once the returned
    flag is set): the outermost call switches collection on and back off."""
    import ctypes
    import functools
    import importlib

    import shared.diagnosis.diagnose as diagnosis
    import shared.diagnosis.rules as rules

    switch = ctypes.CDLL(toggle).toggle
    on, depth = [False], [0]

    def wrapped(fn):
        @functools.wraps(fn)
        def inside(*args, **kwargs):
            outermost = on[0] and not depth[0]
            depth[0] += 1
            if outermost:
                switch()
            try:
                return fn(*args, **kwargs)
            finally:
                if outermost:
                    switch()
                depth[0] -= 1
        return inside

    for target in targets:
        module_name, qualified = target.split(":")
        owner = importlib.import_module(module_name)
        *path, name = qualified.split(".")
        for part in path:
            owner = getattr(owner, part)
        if isinstance(owner, type):   # a method or a cached_property of a class
            found = owner.__dict__[name]
            if isinstance(found, functools.cached_property):
                found.func = wrapped(found.func)
            else:
                setattr(owner, name, wrapped(found))
            continue
        original = getattr(owner, name)
        patch_references(original, wrapped(original))
    diagnosis.RULES = rules.RULES
    return on


_LONGEST_TABLE = 10_000      # entries: a table longer than this is data, not a list of functions


def patch_references(original, replacement) -> int:
    """Every reference shared.diagnosis's modules hold to `original` made `replacement`: a module's name for
    it, and the tables that list it, at any depth (the rules' tuple; a rule's tuple of (check, query,
    threshold), database_unreachable._DEPLOYS_OWN, read at import). Patched by name alone, a check called from
    such a table ran unwrapped and was reported at 0.00. Returns how many module names were rebound."""
    rebound, done = 0, {}
    for loaded, module in list(sys.modules.items()):
        if not loaded.startswith("shared.diagnosis") or module is None:
            continue
        for key, value in list(vars(module).items()):
            swapped = replacement if value is original else _swapped(value, original, replacement, done)
            if swapped is not value:
                setattr(module, key, swapped)
                rebound += 1
    return rebound


def _swapped(value, original, replacement, done: dict | None = None):
    """`value` with `original` replaced by `replacement` inside it: a tuple rebuilt (the same object when it
    holds none), a list's items and a dict's values replaced in place; anything else as it is. `done`: each
    table already walked (by id: the modules import the same tables under many names) and what it became.
    A table of checks is short; the lookup tables of hundreds of thousands of entries (log_signals'
    signal sets, facts' positions) hold no function and took seconds each to walk, so they are passed by."""
    if not isinstance(value, (tuple, list, dict)) or len(value) > _LONGEST_TABLE:
        return value
    done = {} if done is None else done
    if id(value) in done:
        return done[id(value)]
    done[id(value)] = value          # a table that holds itself is walked once
    def one(v):
        return replacement if v is original else _swapped(v, original, replacement, done)
    if isinstance(value, tuple):
        items = tuple(one(v) for v in value)
        if any(a is not b for a, b in zip(items, value)):
            done[id(value)] = items
    elif isinstance(value, list):
        value[:] = [one(v) for v in value]
    else:
        for key, v in list(value.items()):
            value[key] = one(v)
    return done[id(value)]


def _valgrind(tool: list[str], args: list[str]) -> str:
    env = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(["valgrind", *tool, sys.executable, __file__, *args], env=env, capture_output=True,
                          text=True, check=True)
    return done.stderr


def _count(stderr: str, label: str) -> int:
    found = re.search(rf"{label}\s*:\s*([\d,]+)", stderr)
    if found is None:
        raise RuntimeError(f"no {label!r} in valgrind's output:\n{stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="module:qualified.name of functions to count inside")
    parser.add_argument("--utc", action="store_true",
                        help="the evidence's datetimes on timezone.utc, as the adapters build them (not JSON's TzInfo)")
    parser.add_argument("--worker", nargs=4, metavar=("EVIDENCE", "RUNS", "DIAGNOSE", "TOGGLE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        evidence, runs, diagnose_too, toggle = args.worker
        worker(evidence, int(runs), diagnose_too == "1", args.targets, toggle, args.utc)
        return 0
    utc = ["--utc"] if args.utc else []

    sys.path.insert(0, str(ROOT))
    from bench.diagnosis_speed import large_settings, record
    from bench.diagnosis_world import large_scenario_data
    from sandbox.scenarios import Scenario

    with tempfile.TemporaryDirectory(prefix="runwarden-instructions-") as tmp:
        evidence = Path(tmp) / "large.json"
        bundle = record(Scenario.model_validate(large_scenario_data()), large_settings()[0])
        evidence.write_text(bundle.model_dump_json())
        if not args.targets:
            quiet = ["--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
            both = _count(_valgrind(quiet, [*utc, "--worker", str(evidence), str(RUNS), "1", "-"]), "I\\s+refs")
            clearing = _count(_valgrind(quiet, [*utc, "--worker", str(evidence), str(RUNS), "0", "-"]), "I\\s+refs")
            print(f"a cold LARGE diagnosis: {(both - clearing) / RUNS / 1e6:.2f} million instructions")
            return 0
        toggle = Path(tmp) / "toggle.so"
        source = Path(tmp) / "toggle.c"
        source.write_text(_TOGGLE_C)
        subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(toggle), str(source)], check=True)
        for target in args.targets:
            stderr = _valgrind(["--tool=callgrind", "--collect-atstart=no", "--callgrind-out-file=/dev/null"],
                               [*utc, "--worker", str(evidence), str(PART_RUNS), "1", str(toggle), target])
            print(f"{target}: {_count(stderr, 'Collected') / PART_RUNS / 1e6:.2f} million instructions "
                  "a cold LARGE diagnosis")
    return 0


if __name__ == "__main__":
    sys.exit(main())
