"""The plan refuses a config that does not name what the module deploys (infra/config_check).

The module is run for real: a root calling it is planned by `terraform plan` (it needs no provider,
so no download), once per config, and each mismatch must stop the plan naming its field. The emulator
tests cannot see these mismatches: the Firestore emulator serves any database name.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from shared.config import DeliverySettings, DiagnosisSettings, StateSettings, VerificationSettings, load_config
from tests.infra.terraform import INFRA, ROOT, load_file, load_module, require_tool, terraform_in

CHECK = INFRA / "config_check"
PROJECT = "my-project"
GOOD = f"""\
project: {PROJECT}
outcomes_topic: projects/{PROJECT}/topics/runwarden-outcomes
commands_topic: projects/{PROJECT}/topics/runwarden-commands
state:
  database: runwarden
  collection_prefix: runwarden
mode: dry_run
services:
  - name: projects/my-project/locations/us-central1/services/backend
    cloudsql_instances: [my-project:us-central1:db]
"""


@pytest.fixture(scope="module")
def planner(tmp_path_factory) -> Iterator:
    terraform = require_tool("terraform", "terraform is not on the PATH: the config check is not run")
    root = tmp_path_factory.mktemp("config_check_root")
    # The module's own inputs at their defaults, as infra/functions.tf passes them.
    (root / "main.tf").write_text(f"""
variable "config_path" {{
  type = string
}}
variable "sweep_interval_seconds" {{
  type    = number
  default = 300
}}
variable "connector_max_instances" {{
  type    = map(number)
  default = {{}}
}}
module "check" {{
  source                = "{CHECK}"
  config_path           = var.config_path
  project_id            = "{PROJECT}"
  firestore_database    = "runwarden"
  collection_prefix     = "runwarden"
  outcomes_topic        = "projects/{PROJECT}/topics/runwarden-outcomes"
  commands_topic        = "projects/{PROJECT}/topics/runwarden-commands"
  max_delivery_attempts = 10
  sweep_interval_seconds = var.sweep_interval_seconds
  watched_projects      = ["shop-prod", "example.com:shop-db"]
  connector_max_instances = var.connector_max_instances
}}
output "diagnosis" {{
  value = module.check.diagnosis
}}
output "service_projects" {{
  value = module.check.service_projects
}}
""")
    terraform_run = terraform_in(terraform, root)

    def plan(config_text: str | None, sweep_interval_seconds: int = 300,
             connector_max_instances: dict[str, int] | None = None) -> subprocess.CompletedProcess[str]:
        path = root / "runwarden.yaml"
        path.unlink(missing_ok=True)
        if config_text is not None:
            path.write_text(config_text)
        return terraform_run("plan", "-input=false", "-lock=false", "-no-color",
                             f"-var=config_path={path}", f"-var=sweep_interval_seconds={sweep_interval_seconds}",
                             f"-var=connector_max_instances={json.dumps(connector_max_instances or {})}")

    yield plan


def _error(result: subprocess.CompletedProcess[str]) -> str:
    return re.sub(r"\s+", " ", result.stdout + result.stderr)


def test_a_config_naming_what_the_module_deploys_plans(planner) -> None:
    result = planner(GOOD)
    assert result.returncode == 0, _error(result)


def test_the_config_file_section_of_the_deploy_guide_plans(planner) -> None:
    """docs/deploy.md, "The config file": the YAML it shows, for the module's defaults."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    section = text[text.index("## The config file"):]
    shown = re.search(r"```yaml\n(.*?)```", section, flags=re.S).group(1)
    assert "state:" in shown
    result = planner(shown)
    assert result.returncode == 0, _error(result)


MISMATCHES = [
    # (what, config text, the words the error must carry)
    ("state.database left at its default", GOOD.replace("  database: runwarden\n", ""),
     'state.database is "(default)" but the module creates the Firestore database "runwarden"'),
    ("another database", GOOD.replace("database: runwarden", "database: other"), 'state.database is "other"'),
    ("another collection prefix", GOOD.replace("collection_prefix: runwarden", "collection_prefix: rw"),
     'state.collection_prefix is "rw"'),
    ("another project", GOOD.replace(f"project: {PROJECT}\n", "project: elsewhere\n"), 'project is "elsewhere"'),
    ("another outcomes topic", GOOD.replace("topics/runwarden-outcomes", "topics/outcomes"),
     f'outcomes_topic is "projects/{PROJECT}/topics/outcomes"'),
    ("another commands topic", GOOD.replace("topics/runwarden-commands", "topics/cmds"),
     f'commands_topic is "projects/{PROJECT}/topics/cmds"'),
    ("a delivery limit other than the subscriptions'", GOOD + "delivery:\n  max_attempts: 5\n",
     "delivery.max_attempts is 5 but the push subscriptions dead-letter after max_delivery_attempts = 10"),
    ("not YAML", "project: [unclosed\n", "is not valid YAML"),
    ("a verification period no longer than the sweep interval",
     GOOD + "verification:\n  settle_seconds: 300\n  deadline_seconds: 600\n",
     "verification.deadline_seconds - settle_seconds is 300 s but the sweep runs every 300 s"),
    # the loader refuses it too (shared/config.py, least_deadline_seconds(60) == 600): caught at plan
    ("a deadline no verdict can reach", GOOD + "verification:\n  settle_seconds: 60\n  deadline_seconds: 480\n",
     "verification.deadline_seconds (480) leaves no time for a verdict after settle_seconds (60): every action "
     "would end unclear and be escalated. Write deadline_seconds: 600 or more"),
    # the loader refuses these too (shared/config.py, PER_MINUTE_WINDOWS): caught at plan
    ("a lookback that is not whole minutes", GOOD + "diagnosis:\n  lookback_seconds: 90\n",
     "diagnosis.lookback_seconds (90) is not a whole number of minutes"),
    ("a recent window and a baseline off whole minutes",
     GOOD + "diagnosis:\n  recent_seconds: 150\n  baseline_seconds: 3601\n",
     "diagnosis.baseline_seconds (3601), diagnosis.recent_seconds (150) is not a whole number of minutes"),
    ("an incident window bound off whole minutes", GOOD + "diagnosis:\n  max_incident_window_seconds: 1830\n",
     "diagnosis.max_incident_window_seconds (1830)"),
    ("a service in a project the functions have no role in",
     GOOD.replace("  - name: projects/my-project/", "  - name: projects/other-team/"),
     "names services, connectors or Cloud SQL instances in other-team"),
    ("a connector in a project the functions have no role in",
     GOOD + "bounds:\n  connectors:\n    - {name: projects/net-host/locations/us-central1/connectors/c, allow_one_way: true}\n",
     "in net-host, which is neither project_id nor in watched_projects"),
    ("a Cloud SQL instance in a project the functions have no role in",
     GOOD.replace("    cloudsql_instances: [my-project:us-central1:db]", "    cloudsql_instances: [db-team:us-central1:db]"),
     "in db-team,"),
]


@pytest.mark.parametrize("what,config_text,expected", MISMATCHES, ids=[m[0] for m in MISMATCHES])
def test_a_config_that_does_not_match_stops_the_plan_naming_the_field(planner, what, config_text, expected) -> None:
    result = planner(config_text)
    assert result.returncode != 0, f"{what}: the plan went through"
    assert expected in _error(result), _error(result)


@pytest.mark.parametrize("minutes", [10, 15, 30])
def test_a_sweep_interval_as_long_as_the_default_verification_period_stops_the_plan(planner, minutes) -> None:
    """The defaults' period is 10 minutes (deadline 900 s - settle 300 s): a sweep every 10 minutes or
    more may come more than a period after a deadline, when judging.next_step no longer undoes."""
    result = planner(GOOD, sweep_interval_seconds=minutes * 60)
    assert result.returncode != 0, f"a sweep every {minutes} minutes planned"
    assert f"is 600 s but the sweep runs every {minutes * 60} s" in _error(result), _error(result)
    assert f"Raise deadline_seconds above {300 + minutes * 60}" in _error(result), _error(result)


def test_a_sweep_interval_shorter_than_the_configs_period_plans(planner) -> None:
    longer = GOOD + "verification:\n  settle_seconds: 300\n  deadline_seconds: 2101\n"
    result = planner(longer, sweep_interval_seconds=30 * 60)
    assert result.returncode == 0, _error(result)


@pytest.mark.parametrize("settle", [60, 900])
def test_the_plans_least_deadline_is_the_loaders(planner, settle) -> None:
    """The plan refuses a deadline below shared.config.least_deadline_seconds and takes one at it, as
    the loader does (a sweep every minute, so the sweep-interval check stands aside)."""
    from shared.config import least_deadline_seconds

    least = least_deadline_seconds(settle)
    at_least = GOOD + f"verification:\n  settle_seconds: {settle}\n  deadline_seconds: {least}\n"
    assert planner(at_least, sweep_interval_seconds=60).returncode == 0
    below = planner(at_least.replace(f"deadline_seconds: {least}", f"deadline_seconds: {least - 1}"),
                    sweep_interval_seconds=60)
    assert below.returncode != 0 and f"Write deadline_seconds: {least} or more" in _error(below), _error(below)


def test_the_plans_per_minute_windows_are_the_loaders() -> None:
    """The plan checks the very settings the loader reads as windows of whole minutes."""
    from shared.config import PER_MINUTE_WINDOWS

    text = (Path(__file__).parents[2] / "infra" / "config_check" / "main.tf").read_text()
    listed = re.search(r"per_minute_windows = \[([^\]]*)\]", text).group(1)
    assert sorted(re.findall(r'"(\w+)"', listed)) == sorted(PER_MINUTE_WINDOWS)


def test_a_connector_already_above_its_policys_ceiling_stops_the_plan(planner) -> None:
    """A policy ceiling of 6 on a connector whose own max instances is 8: planning could never scale it
    (shared/remediation/planning.py), and every saturation would be escalated."""
    text = WITH_CONNECTOR
    assert "max_instances_ceiling: 6" in text, text
    result = planner(text, connector_max_instances={BOUNDED: 8})
    assert result.returncode != 0, "a connector above its ceiling planned"
    assert f"for {BOUNDED} (max instances 8, ceiling 6)" in _error(result), _error(result)
    assert planner(text, connector_max_instances={BOUNDED: 6}).returncode == 0     # at the ceiling: fine
    default_ceiling = text.replace(", max_instances_ceiling: 6", "")
    assert planner(default_ceiling, connector_max_instances={BOUNDED: 10}).returncode == 0   # default ceiling 10


def test_the_sweep_check_is_the_judges_rule() -> None:
    """What the precondition protects: judging.next_step undoes a failing rollback only while the
    sweep is at most one period (deadline - settle) past the deadline."""
    from datetime import datetime, timedelta, timezone

    from shared.remediation.judging import Health, HealthKind, StepKind, next_step
    from shared.remediation.records import ActionRecord

    settings = VerificationSettings()
    applied = datetime(2026, 1, 1, tzinfo=timezone.utc)
    record = ActionRecord.model_validate({
        "key": "k", "incident_id": "i", "action": "rollback_traffic", "target": "projects/p/locations/l/services/s",
        "service": "projects/p/locations/l/services/s",
        "signature": "bad_revision", "params": {}, "reversible": True, "applied_at": applied,
        "settle_at": applied + timedelta(seconds=settings.settle_seconds),
        "deadline_at": applied + timedelta(seconds=settings.deadline_seconds)})
    failing = Health(HealthKind.FAILING, "5xx")
    period = timedelta(seconds=settings.deadline_seconds - settings.settle_seconds)
    assert next_step(record, failing, record.deadline_at + period, settings).kind is StepKind.UNDO
    assert next_step(record, failing, record.deadline_at + period + timedelta(seconds=1), settings).kind \
        is StepKind.ESCALATE


def test_the_example_config_plans(planner) -> None:
    # docs/deploy.md: "Start from runwarden.example.yaml".
    # Its connector's max instances given as connector_max_instances (docs/deploy.md, "Connector alerts").
    result = planner((ROOT / "runwarden.example.yaml").read_text(),
                     connector_max_instances={"projects/my-project/locations/us-central1/connectors/backend-conn": 4})
    assert result.returncode == 0, _error(result)


def test_services_connectors_and_databases_in_watched_projects_plan(planner) -> None:
    text = GOOD + ("  - name: projects/shop-prod/locations/europe-west1/services/shop\n"
                   "    cloudsql_instances: [example.com:shop-db:europe-west1:orders]\n"
                   "bounds:\n  connectors:\n"
                   "    - {name: projects/shop-prod/locations/europe-west1/connectors/shop-conn, allow_one_way: true}\n")
    result = planner(text, connector_max_instances={"projects/shop-prod/locations/europe-west1/connectors/shop-conn": 10})
    assert result.returncode == 0, _error(result)


def test_an_optional_commands_topic_may_be_left_out(planner) -> None:
    result = planner(GOOD.replace(f"commands_topic: projects/{PROJECT}/topics/runwarden-commands\n", ""))
    assert result.returncode == 0, _error(result)


def test_a_missing_config_is_left_to_its_own_precondition(planner) -> None:
    # functions.tf's source object says "The config named by config_file must exist"; this module adds nothing.
    result = planner(None)
    assert result.returncode == 0, _error(result)


def test_the_good_config_is_one_runwarden_loads(tmp_path: Path) -> None:
    path = tmp_path / "runwarden.yaml"
    path.write_text(GOOD)
    config = load_config(str(path))
    assert (config.state.database, config.state.collection_prefix) == ("runwarden", "runwarden")


def test_the_defaults_are_the_codes() -> None:
    defaults = load_file(CHECK / "main.tf")["locals"][0]["defaults"]
    assert defaults == {"database": StateSettings().database, "collection_prefix": StateSettings().collection_prefix,
                        "max_attempts": DeliverySettings().max_attempts,
                        "settle_seconds": VerificationSettings().settle_seconds,
                        "deadline_seconds": VerificationSettings().deadline_seconds,
                        "bad_error_ratio": DiagnosisSettings().bad_error_ratio,
                        "connector_cpu_saturation": DiagnosisSettings().connector_cpu_saturation}


def test_the_module_passes_what_it_deploys() -> None:
    config = load_module()
    call = config.modules["config_check"]
    assert call["source"] == "./config_check"
    assert call["config_path"] == "${var.source_dir}/${var.config_file}"
    assert (call["project_id"], call["firestore_database"], call["collection_prefix"], call["max_delivery_attempts"],
            call["watched_projects"]) == ("${var.project_id}", "${var.firestore_database}", "${var.collection_prefix}",
                                          "${var.max_delivery_attempts}", "${var.watched_projects}")
    # The interval the Scheduler job runs at (scheduler.tf: "*/${var.sweep_interval_minutes} * * * *").
    assert call["sweep_interval_seconds"] == "${var.sweep_interval_minutes * 60}"
    schedule = config.resource("google_cloud_scheduler_job", "sweep")["schedule"]
    assert schedule == "*/${var.sweep_interval_minutes} * * * *"
    # The topics as pubsub.tf names them ("${var.name_prefix}-${each.value}" in var.project_id).
    topics = config.resource("google_pubsub_topic", "topics")
    assert topics["name"] == "${var.name_prefix}-${each.value}" and topics["project"] == "${var.project_id}"
    assert call["outcomes_topic"] == "projects/${var.project_id}/topics/${var.name_prefix}-outcomes"
    assert call["commands_topic"] == "projects/${var.project_id}/topics/${var.name_prefix}-commands"
    database = config.resource("google_firestore_database", "runwarden")
    assert database["name"] == "${var.firestore_database}" and database["project"] == "${var.project_id}"


def test_the_configs_delivery_range_is_the_modules() -> None:
    """delivery.max_attempts must equal var.max_delivery_attempts, so both take exactly Pub/Sub's
    dead-letter range (5-100, DeadLetterPolicy): a config the loader accepts is never one the module
    cannot deploy to match, and the reverse."""
    from pydantic import ValidationError

    from shared.config import DEAD_LETTER_ATTEMPTS

    condition = load_module().variables["max_delivery_attempts"]["validation"][0]["condition"]
    low, high = map(int, re.fullmatch(r"\$\{var\.max_delivery_attempts >= (\d+) && "
                                      r"var\.max_delivery_attempts <= (\d+) && floor\(var\.max_delivery_attempts\) == "
                                      r"var\.max_delivery_attempts\}", condition).groups())
    assert (low, high) == DEAD_LETTER_ATTEMPTS == (5, 100)
    for accepted in (low, high):
        assert DeliverySettings(max_attempts=accepted).max_attempts == accepted
    for refused in (low - 1, high + 1):
        with pytest.raises(ValidationError, match=f"{refused} is outside {low}-{high}"):
            DeliverySettings(max_attempts=refused)


BOUNDED = "projects/shop-prod/locations/us-central1/connectors/shop-conn"
WITH_CONNECTOR = GOOD + f"bounds:\n  connectors:\n    - {{name: {BOUNDED}, max_instances_ceiling: 6}}\n"


def test_a_bounded_connector_without_its_max_instances_stops_the_plan(planner) -> None:
    """Runwarden may scale every connector in bounds.connectors, and its "at its max instances"
    alert (infra/alerts.tf, connector_ceiling) is made from connector_max_instances: a connector
    missing there would never alert at its ceiling. max_instances_ceiling is how far automation may
    raise it, not where it is, so it cannot stand in."""
    result = planner(WITH_CONNECTOR)
    assert result.returncode != 0, "a bounded connector without its max instances planned"
    assert f"bounds.connectors names {BOUNDED}, which connector_max_instances does not list" in _error(result), \
        _error(result)


def test_a_bounded_connector_with_its_max_instances_plans(planner) -> None:
    result = planner(WITH_CONNECTOR, connector_max_instances={BOUNDED: 4})
    assert result.returncode == 0, _error(result)


def test_the_alerts_diagnosis_bars_are_read_from_the_config(planner) -> None:
    result = planner(GOOD + "diagnosis:\n  connector_cpu_saturation: 0.7\n  bad_error_ratio: 0.3\n")
    assert result.returncode == 0, _error(result)
    shown = _error(result)
    assert "connector_cpu_saturation = 0.7" in shown and "bad_error_ratio = 0.3" in shown, shown
    defaults = _error(planner(GOOD))
    assert "connector_cpu_saturation = 0.8" in defaults and "bad_error_ratio = 0.2" in defaults, defaults


def _shown_list(shown: str, output: str) -> set[str]:
    """The strings of a list output as `terraform plan` shows it: `+ NAME = [ + "a", + "b", ]`."""
    found = re.search(rf"\+ {output} = \[(.*?)\]", shown)
    assert found, shown
    return set(re.findall(r'"([^"]+)"', found.group(1)))


def test_the_projects_where_services_may_be_changed_are_the_managed_services_own(planner) -> None:
    """Cloud Run's writes are granted only where a managed service lives (infra/iam.tf, service_writes):
    not in the project of a connector or a Cloud SQL instance alone, not in Runwarden's own project
    when it manages no service there."""
    elsewhere = GOOD.replace("projects/my-project/locations/us-central1/services/backend",
                             "projects/shop-prod/locations/europe-west1/services/shop").replace(
        "my-project:us-central1:db", "example.com:shop-db:europe-west1:orders")
    elsewhere += ("  - name: projects/shop-prod/locations/europe-west1/services/cart\n"
                  "bounds:\n  connectors:\n"
                  "    - {name: projects/my-project/locations/europe-west1/connectors/shop-conn, allow_one_way: true}\n")
    result = planner(elsewhere, connector_max_instances={"projects/my-project/locations/europe-west1/connectors/shop-conn": 10})
    assert result.returncode == 0, _error(result)
    assert _shown_list(_error(result), "service_projects") == {"shop-prod"}
    both = planner(GOOD + "  - name: projects/shop-prod/locations/europe-west1/services/shop\n")
    assert both.returncode == 0, _error(both)
    assert _shown_list(_error(both), "service_projects") == {PROJECT, "shop-prod"}
