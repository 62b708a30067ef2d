"""Same evidence, same diagnosis: every bundled scenario and the LARGE case, read from the seeded
stand-ins through the real adapters, diagnosed under four settings, written out or compared item
for item with a file written before a change.

A change to how evidence is decoded or how facts are computed must leave every Diagnosis exactly
as it was: signature, confidence, summary, every evidence item (query, observed, threshold,
passed, role, about), recommendation, stand-down. Each bundled scenario is recorded twice, with the
alert's context and without it (the log read differs: a log-match alert's filter joins it), and the
LARGE case once: with N bundled scenarios, N x 2 + 1 bundles, x 4 settings (sandbox/scenarios holds 791:
6,332 diagnoses). Nearly all of its time is reading the stand-ins, over 40 minutes on a busy two-core machine:
give a `timeout` room. The count is printed.

    .venv/bin/python bench/diagnosis_identity.py --write /tmp/before.json   # before the change
    .venv/bin/python bench/diagnosis_identity.py --check /tmp/before.json   # after it: exit 1 on any difference
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def settings_under_test() -> dict[str, Any]:
    """The defaults, a loose and a strict set (every threshold moved the same way), and the LARGE
    case's (a 24 h baseline, up to 1,000 log entries)."""
    from shared.config import DiagnosisSettings

    return {
        "default": DiagnosisSettings(),
        "loose": DiagnosisSettings(min_requests=5, bad_error_ratio=0.1, healthy_error_ratio=0.02, status_ratio=0.05,
                                   hang_latency_seconds=10, hang_minutes_ratio=0.3, connector_cpu_saturation=0.6,
                                   connector_throughput_ratio=0.5, db_error_logs_min=2, startup_failure_logs_min=1,
                                   lookback_seconds=1800, recent_seconds=600),
        "strict": DiagnosisSettings(min_requests=50, bad_error_ratio=0.4, healthy_error_ratio=0.005,
                                    status_ratio=0.25, hang_latency_seconds=40, hang_minutes_ratio=0.8,
                                    connector_cpu_saturation=0.95, connector_throughput_ratio=0.95,
                                    db_error_logs_min=10, startup_failure_logs_min=5, lookback_seconds=600,
                                    baseline_seconds=1800, recent_seconds=180),
        "large": DiagnosisSettings(baseline_seconds=24 * 3600, max_log_entries=1000),
    }


def bundles() -> Iterator[tuple[str, Any]]:
    """(name, evidence) for every bundled scenario, with and without its alert, then LARGE."""
    from bench.diagnosis_speed import large_settings, record
    from bench.diagnosis_world import large_scenario_data
    from sandbox.scenarios import Scenario, list_bundled_scenarios, resolve_scenario
    from shared.config import DiagnosisSettings

    read = DiagnosisSettings(lookback_seconds=1800, max_log_entries=1000)   # the widest any settings above judge
    for name in list_bundled_scenarios():
        scenario = resolve_scenario(name)
        yield f"{name} +alert", record(scenario, read)
        if scenario.alert:
            yield f"{name} -alert", record(scenario.model_copy(update={"alert": None}), read)
        else:
            yield f"{name} -alert", record(scenario, read)
    yield "LARGE", record(Scenario.model_validate(large_scenario_data()), large_settings()[0])


def diagnoses() -> dict[str, Any]:
    from shared.diagnosis.diagnose import diagnose

    out: dict[str, Any] = {}
    every = settings_under_test()
    for name, bundle in bundles():
        for label, settings in every.items():
            out[f"{name} / {label}"] = diagnose(bundle, settings).model_dump(mode="json")
        print(f"{name}: {out[f'{name} / default']['signature']}", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path)
    group.add_argument("--check", type=Path)
    args = parser.parse_args()
    found = diagnoses()
    if args.write:
        args.write.write_text(json.dumps(found, indent=1, sort_keys=True))
        print(f"{len(found)} diagnoses written to {args.write}")
        return 0
    before = json.loads(args.check.read_text())
    differ = sorted(k for k in before.keys() | found.keys() if before.get(k) != found.get(k))
    for key in differ[:20]:
        print(f"DIFFERS: {key}")
        old, new = before.get(key) or {}, found.get(key) or {}
        for field in sorted(old.keys() | new.keys()):
            if old.get(field) != new.get(field):
                print(f"  {field}:\n    before {old.get(field)!r}\n    after  {new.get(field)!r}")
    print(f"{len(found)} diagnoses, {len(differ)} differ from {args.check}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
