"""`runwarden eval DIR [--json]`: how well diagnosis does on a directory of scenarios.

Every scenario in DIR (`*.yaml`) that has an `expect` block is seeded into fresh API stand-ins
(no emulators: nothing is claimed or published), its alert is routed and diagnosed through the
real adapters with the clock pinned at T0 + 2 minutes, and the plan is made. Reported:

- signature accuracy: the diagnosed signature ("none" when no diagnosis is made) against `expect.signature`;
- wrong actions: a planned write the scenario does not expect (any action where `expect.action`
  is null, another action, target or `to_revision` than expected, or an action that would be
  applied where the scenario expects it only proposed). Precision beats recall: one is too many;
- missed actions: the fix the scenario expects and Runwarden does not make (no action planned
  where `expect.action` names one, or the planned action stops short of `expect.status`: an
  expected `applied` that would be `proposed` or `escalated`, an expected `proposed` that would
  be `escalated`). A missed fix leaves a person paged; the scenario's expectation is not met;
- stand-downs: a diagnosis that stands automation down for a recent human change where the scenario
  expects none, or none where it expects one (`expect.stand_down`). Either misleads a person about who
  is at work;
- a confusion matrix, expected by row, diagnosed by column.

The status a planned action would reach in enforce mode is the gate's own verdict on the plan
(`plan_refusal`: blast radius, bounds, approval), after the alert's own hold (`present_failure.alert_hold`:
the policy's `runwarden` user label, or an alert that states no present failure: `escalated`); fresh state
holds no cooldown, budget or pause.

Exit 0 when accuracy is 100 % and there are no wrong actions, missed actions nor stand-downs unlike
their expectation; 3 when the bar is
missed; 2 for bad input; 1 when the local environment failed.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli._inputs import EXIT_ENVIRONMENT, as_deployed_on, environment, fail, not_answered

if TYPE_CHECKING:
    from sandbox.scenarios import ExpectSpec, Scenario

EXIT_BAR_MISSED = 3
ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)   # T0 for every scenario: results never depend on today
_TOPIC = "projects/{project}/topics/runwarden-outcomes"
# How far an outcome goes towards the fix: the evidence to a person, the exact change proposed to
# a person, the change made. An action's status below the expected one is a missed fix; above it,
# a write the scenario expects a person to decide.
REACH = {"escalated": 0, "proposed": 1, "applied": 2}


@dataclass(frozen=True)
class Row:
    scenario: str
    expected: str
    diagnosed: str
    expected_action: str | None
    expected_status: str
    planned_action: str | None
    planned_target: str | None
    planned_revision: str | None    # a rollback's to_revision
    planned_status: str | None      # what the planned action would reach in enforce mode; None: no action
    wrong_action: bool
    missed_action: bool
    reason: str
    expected_stand_down: bool = False
    stood_down: str = ""            # the diagnosis's stand-down words, "" when it stood nothing down

    @property
    def stand_down_unlike(self) -> bool:
        """The diagnosis stood automation down where the scenario expects it not to, or the reverse."""
        return bool(self.stood_down) != self.expected_stand_down

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
    if (summary["accuracy"] < 1.0 or summary["wrong_actions"] or summary["missed_actions"]
            or summary["stand_downs_unlike"]):
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
    from shared.alerts.present_failure import alert_hold
    from shared.config import parse_config
    from shared.diagnosis.collection import Readers
    from shared.diagnosis.scope import diagnose_alert
    from shared.errors import TransientError
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.secretmanager import SecretManagerAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter
    from shared.remediation.actions import get_action
    from shared.remediation.guardrails import plan_refusal
    from shared.remediation.planning import plan

    expect = scenario.expect
    incident = parse_notification(scenario.message_data(ANCHOR))   # as published, through a relay if any
    config = parse_config(scenario.config_data(_TOPIC.format(project=scenario.project)), source=scenario.name)
    with start_seeded(scenario, anchor=ANCHOR) as standins, environment(standins.env()):
        config = as_deployed_on(config, standins.run.caller)   # Runwarden's own changes are not a person's
        readers = Readers(run=CloudRunAdapter(), monitoring=CloudMonitoringAdapter(), logging=CloudLoggingAdapter(),
                          vpcaccess=VpcAccessAdapter(), secretmanager=SecretManagerAdapter())
        try:
            verdict = diagnose_alert(incident, config, readers, ANCHOR + scenario.delivered)
        except TransientError as e:     # a read, or a peer's (scope.service_peers_held), never answered
            not_answered(f"scenario {scenario.name}", e)
        finally:
            # Every client closed before the stand-in stops (else gRPC logs the server's GOAWAY).
            readers.close()
    diagnosis = verdict.diagnosis
    action = target = revision = status = None
    reason = verdict.skip
    if diagnosis is not None:
        reason = diagnosis.summary
        if verdict.bundle is not None:
            proposal = plan(diagnosis, verdict.bundle, config.diagnosis, config.bounds)
            action, reason = proposal.action, proposal.reason
            if action is not None:
                target = proposal.targets[0] if proposal.targets else None
                revision = getattr(proposal.params, "to_revision", None)
                refusal = plan_refusal(config, get_action(action), proposal.params, proposal.before,
                                       proposal.targets, ANCHOR + scenario.delivered)
                status = refusal.status.value if refusal else "applied"
                reason = refusal.reason if refusal else reason
                # The alert itself holds the write back before the gate (pipeline.policy_held): its policy's
                # `runwarden` label, or no present failure stated (a forecast, a metric absence, ...).
                held = alert_hold(incident)
                status, reason = ("escalated", held) if held else (status, reason)
    return Row(scenario=scenario.name, expected=expect.signature,
               diagnosed=diagnosis.signature.value if diagnosis else "none", expected_action=expect.action,
               expected_status=expect.status, planned_action=action, planned_target=target,
               planned_revision=revision, planned_status=status,
               wrong_action=is_wrong_action(expect, action, target, revision, status),
               missed_action=is_missed_action(expect, action, target, revision, status), reason=reason,
               expected_stand_down=expect.stand_down, stood_down=diagnosis.stand_down if diagnosis else "")


def is_wrong_action(expect: ExpectSpec, action: str | None, target: str | None, revision: str | None,
                    status: str | None) -> bool:
    """A planned write the scenario does not expect: one where it expects none, another action,
    target or revision, or one that goes further than expected (applied where a person should
    approve)."""
    if action is None:
        return False
    return (action != expect.action
            or (expect.target is not None and target != expect.target)
            or (expect.to_revision is not None and revision != expect.to_revision)
            or REACH.get(status, 0) > REACH.get(expect.status, 0))


def is_missed_action(expect: ExpectSpec, action: str | None, target: str | None, revision: str | None,
                     status: str | None) -> bool:
    """The expected fix not made: no action where one is expected, or the expected action stopping
    short of the expected status. Another action than expected is wrong, not missed."""
    if expect.action is None or is_wrong_action(expect, action, target, revision, status):
        return False
    return action is None or REACH.get(status, 0) < REACH.get(expect.status, 0)


def totals(rows: list[Row]) -> dict:
    labels = sorted({r.expected for r in rows} | {r.diagnosed for r in rows})
    matrix = Counter((r.expected, r.diagnosed) for r in rows)
    return {
        "scenarios": len(rows),
        "accuracy": sum(r.correct for r in rows) / len(rows) if rows else 0.0,
        "wrong_actions": sum(r.wrong_action for r in rows),
        "missed_actions": sum(r.missed_action for r in rows),
        "stand_downs_unlike": sum(r.stand_down_unlike for r in rows),
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
        mark = ("[red]WRONG[/]" if not r.correct or r.wrong_action or r.stand_down_unlike else
                "[red]MISSED[/]" if r.missed_action else "[green]ok[/]")
        verdict = r.expected if r.correct else f"{r.expected} → [red]{r.diagnosed}[/]"
        action = f"{planned(r)} ({expected(r)})"
        flag = (" [red]wrong action[/]" if r.wrong_action else " [red]missed action[/]" if r.missed_action else
                " [red]stand-down unlike expected[/]" if r.stand_down_unlike else "")
        table.add_row(r.scenario, verdict, action + flag, mark)
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
                  f"[bold]wrong actions[/] {summary['wrong_actions']}; [bold]missed actions[/] "
                  f"{summary['missed_actions']}; [bold]stand-downs unlike expected[/] {summary['stand_downs_unlike']}")
    from shared.timeline.words import visible

    for r in rows:
        for line in problems(r):
            console.print(f"  {visible(line)}", markup=False, highlight=False, soft_wrap=True)


def expected(r: Row) -> str:
    """The expected outcome in words: `scale_connector proposed`, or `no action, escalated`."""
    return f"{r.expected_action} {r.expected_status}" if r.expected_action else f"no action, {r.expected_status}"


def planned(r: Row) -> str:
    return f"{r.planned_action} {r.planned_status}" if r.planned_action else "no action"


def problems(r: Row) -> list[str]:
    """One line for each way the scenario misses its expectation, expected against got."""
    lines = []
    if not r.correct:
        lines.append(f"{r.scenario}: signature: expected {r.expected}, got {r.diagnosed}: {r.reason}")
    if r.wrong_action or r.missed_action:
        kind = "wrong action" if r.wrong_action else "missed action"
        lines.append(f"{r.scenario}: {kind}: expected {expected(r)}, got {planned(r)}: {r.reason}")
    if r.stand_down_unlike:
        lines.append(f"{r.scenario}: stand-down: expected {'one' if r.expected_stand_down else 'none'}, "
                     f"got {r.stood_down or 'none'}")
    return lines


def _code(label: str) -> str:
    """A short column heading: the initials of the label's words (bad_revision -> BR)."""
    return "".join(part[0] for part in label.split("_")).upper()
