"""`runwarden eval DIR [--json]`: how well diagnosis does on a directory of scenarios.

Every scenario in DIR (`*.yaml`) that has an `expect` block is seeded into fresh API stand-ins
(no emulators: nothing is claimed or published), its alert is routed and diagnosed through the
real adapters with the clock pinned at T0 + 2 minutes, and the plan is made. Reported:

- signature accuracy: the diagnosed signature ("none" when no diagnosis is made) against `expect.signature`;
- wrong actions: a planned write the scenario does not expect (any action where `expect.action`
  is null, or another action or another target than expected). Precision beats recall: one is
  too many;
- a confusion matrix, expected by row, diagnosed by column.

Exit 0 when accuracy is 100 % and there are no wrong actions; 3 when the bar is missed; 2 for bad
input; 1 when the local environment failed.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli._inputs import EXIT_ENVIRONMENT, environment, fail

if TYPE_CHECKING:
    from sandbox.scenarios import Scenario

EXIT_BAR_MISSED = 3
ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)   # T0 for every scenario: results never depend on today
DELAY = timedelta(minutes=2)                                    # "now" is T0 + this, as in replay and diagnose
_TOPIC = "projects/{project}/topics/runwarden-outcomes"


@dataclass(frozen=True)
class Row:
    scenario: str
    expected: str
    diagnosed: str
    expected_action: str | None
    planned_action: str | None
    planned_target: str | None
    wrong_action: bool
    reason: str

    @property
    def correct(self) -> bool:
        return self.expected == self.diagnosed


@click.command("eval")
@click.argument("directory", metavar="DIR", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: the rows and the totals.")
def command(directory: str, as_json: bool) -> None:
    """Diagnose every scenario in DIR that has an `expect` block and score the verdicts."""
    scenarios = load_directory(Path(directory))
    if not scenarios:
        fail(f"{directory}: no scenario with an `expect` block")
    try:
        rows = [evaluate(s) for s in scenarios]
    except OSError as e:
        fail(f"the local environment failed: {e}", EXIT_ENVIRONMENT)
    summary = totals(rows)
    if as_json:
        click.echo(json.dumps({"rows": [asdict(r) | {"correct": r.correct} for r in rows], **summary},
                              sort_keys=True))
    else:
        _show(rows, summary)
    if summary["accuracy"] < 1.0 or summary["wrong_actions"]:
        raise SystemExit(EXIT_BAR_MISSED)


def load_directory(directory: Path) -> list[Scenario]:
    from sandbox.scenarios import ScenarioError, load_scenario

    found = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            scenario = load_scenario(path)
        except ScenarioError as e:
            fail(f"cannot use scenario {e}")
        if scenario.expect is not None and scenario.alert is not None:
            found.append(scenario)
    return found


def evaluate(scenario: Scenario) -> Row:
    """One scenario: seeded stand-ins, the alert routed and diagnosed, the plan made. Read-only."""
    from sandbox.scenarios import start_seeded
    from shared.alerts.incidents import parse_notification
    from shared.config import parse_config
    from shared.diagnosis.collection import Readers
    from shared.diagnosis.scope import diagnose_alert
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter
    from shared.remediation.planning import plan

    expect = scenario.expect
    incident = parse_notification(scenario.notification(ANCHOR))
    config = parse_config(scenario.config_data(_TOPIC.format(project=scenario.project)), source=scenario.name)
    with start_seeded(scenario, anchor=ANCHOR) as standins, environment(standins.env()):
        readers = Readers(run=CloudRunAdapter(), monitoring=CloudMonitoringAdapter(), logging=CloudLoggingAdapter(),
                          vpcaccess=VpcAccessAdapter())
        verdict = diagnose_alert(incident, config, readers, ANCHOR + DELAY)
    diagnosis = verdict.diagnosis
    action = target = None
    reason = verdict.skip
    if diagnosis is not None:
        reason = diagnosis.summary
        if verdict.bundle is not None:
            proposal = plan(diagnosis, verdict.bundle, config.diagnosis, config.bounds)
            action, reason = proposal.action, proposal.reason
            target = proposal.targets[0] if proposal.targets else None
    wrong = action is not None and (action != expect.action or _wrong_target(scenario, action, target))
    return Row(scenario=scenario.name, expected=expect.signature,
               diagnosed=diagnosis.signature.value if diagnosis else "none", expected_action=expect.action,
               planned_action=action, planned_target=target, wrong_action=wrong, reason=reason)


def _wrong_target(scenario: Scenario, action: str, target: str | None) -> bool:
    expect = scenario.expect
    if expect.target is None:
        return False
    return target != expect.target


def totals(rows: list[Row]) -> dict:
    labels = sorted({r.expected for r in rows} | {r.diagnosed for r in rows})
    matrix = Counter((r.expected, r.diagnosed) for r in rows)
    return {
        "scenarios": len(rows),
        "accuracy": sum(r.correct for r in rows) / len(rows) if rows else 0.0,
        "wrong_actions": sum(r.wrong_action for r in rows),
        "labels": labels,
        "confusion": {e: {d: matrix[(e, d)] for d in labels} for e in labels},
    }


def _show(rows: list[Row], summary: dict) -> None:
    from rich import box
    from rich.table import Table

    from sandbox.render import make_console

    console = make_console()
    table = Table(box=box.SIMPLE_HEAD, header_style="bold")
    table.add_column("scenario", no_wrap=True)
    table.add_column("expected → diagnosed", overflow="fold")
    table.add_column("action planned (expected)", overflow="fold")
    table.add_column("", no_wrap=True)
    for r in rows:
        mark = "[green]ok[/]" if r.correct and not r.wrong_action else "[red]WRONG[/]"
        verdict = r.expected if r.correct else f"{r.expected} → [red]{r.diagnosed}[/]"
        action = f"{r.planned_action or '-'} ({r.expected_action or '-'})"
        table.add_row(r.scenario, verdict, action + (" [red]wrong action[/]" if r.wrong_action else ""), mark)
    console.print(table)
    labels = summary["labels"]
    codes = {label: _code(label) for label in labels}
    matrix = Table(title="confusion matrix (rows: expected, columns: diagnosed)", box=box.SIMPLE_HEAD)
    matrix.add_column("", no_wrap=True)
    for label in labels:
        matrix.add_column(codes[label], justify="right")
    for e in labels:
        matrix.add_row(f"{codes[e]} {e}", *(str(summary["confusion"][e][d] or ".") for d in labels))
    console.print(matrix)
    console.print(f"[bold]signature accuracy[/] {summary['accuracy']:.1%} over {summary['scenarios']} scenarios; "
                  f"[bold]wrong actions[/] {summary['wrong_actions']}")
    for r in rows:
        if not r.correct or r.wrong_action:
            console.print(f"  {r.scenario}: expected {r.expected}, got {r.diagnosed}: {r.reason}")


def _code(label: str) -> str:
    """A short column heading: the initials of the label's words (bad_revision -> BR)."""
    return "".join(part[0] for part in label.split("_")).upper()
