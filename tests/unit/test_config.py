"""Config is validated at load; a bad field fails with its name."""
from __future__ import annotations

import pytest

from shared.config import ConfigError, Mode, load_config, parse_config

CONN = "projects/demo/locations/us-central1/connectors/backend-conn"
GOOD = """
project: demo
mode: enforce
outcomes_topic: projects/demo/topics/runwarden-outcomes
services:
  - name: projects/demo/locations/us-central1/services/backend
bounds:
  rollback:
    max_revision_age_seconds: 1800
guardrails:
  cooldown_seconds: 900
"""


def test_loads_from_the_env_var(tmp_path, monkeypatch):
    path = tmp_path / "runwarden.yaml"
    path.write_text(GOOD)
    monkeypatch.setenv("RUNWARDEN_CONFIG", str(path))
    config = load_config()
    assert config.mode is Mode.ENFORCE and not config.dry_run
    assert config.manages("projects/demo/locations/us-central1/services/backend")
    assert not config.manages("projects/demo/locations/us-central1/services/other")
    assert config.bounds.rollback.max_revision_age_seconds == 1800


def test_defaults_are_the_safe_ones():
    config = parse_config({"project": "p", "outcomes_topic": "projects/p/topics/outcomes"})
    assert config.dry_run
    assert config.services == ()
    assert config.guardrails.kill_switch is False


@pytest.mark.parametrize("patch, field", [
    ({"mode": "yolo"}, "mode"),
    ({"outcomes_topic": "outcomes"}, "outcomes_topic"),
    ({"services": [{"name": "backend"}]}, "services.0.name"),
    ({"guardrails": {"cooldown_seconds": -5}}, "guardrails.cooldown_seconds"),
    ({"guardrails": {"claim_ttl_seconds": 5}}, "guardrails.claim_ttl_seconds"),
    # shorter than the function's 550 s timeout: a redelivery could take over a running attempt's claim
    ({"guardrails": {"claim_ttl_seconds": 300}}, "guardrails.claim_ttl_seconds"),
    ({"bounds": {"rollback": {"max_revision_age_seconds": 0}}}, "bounds.rollback.max_revision_age_seconds"),
    ({"diagnosis": {"healthy_error_ratio": 0.5, "bad_error_ratio": 0.2}}, "diagnosis"),
    ({"guardrails": {"cooldown": 5}}, "guardrails.cooldown"),  # a typo is an error, not a silent default
    ({"actions": {"scale_connectors": {"mode": "dry_run"}}}, "actions"),
    ({"bounds": {"connectors": [{"name": "backend-conn"}]}}, "bounds.connectors.0.name"),
    ({"bounds": {"connectors": [{"name": CONN, "max_instances_ceiling": 12}]}},
     "bounds.connectors.0.max_instances_ceiling"),
    ({"bounds": {"connectors": [{"name": CONN, "allowed_machine_types": ["n1-standard-1"]}]}},
     "bounds.connectors.0.allowed_machine_types"),
    ({"verification": {"settle_seconds": 600, "deadline_seconds": 300}}, "verification"),
])
def test_a_bad_field_is_named(patch, field):
    data = {"project": "p", "outcomes_topic": "projects/p/topics/outcomes", **patch}
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert f": {field}:" in str(err.value)


def test_missing_env_var_and_file(tmp_path, monkeypatch):
    monkeypatch.delenv("RUNWARDEN_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="RUNWARDEN_CONFIG is not set"):
        load_config()
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")
    (tmp_path / "bad.yaml").write_text("project: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")


def test_the_configs_action_names_are_the_registered_actions():
    # The config validates action names from its own list so that it needs no import of the
    # registry; this keeps the two from drifting apart.
    from shared.config import ACTION_NAMES
    from shared.remediation.actions import all_actions

    assert ACTION_NAMES == set(all_actions())
