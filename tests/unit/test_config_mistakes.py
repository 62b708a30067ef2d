"""The mistakes people make writing the config, each refused with its line and what to write.

The config sets the bounds automation acts within: a mistake that silently widens a bound or
drops a protection is a safety defect, so each one here must be refused, never read some other
way than the person meant. Table-driven: (YAML added to a valid base, line, field, words the
message must carry). docs/configuration.md, "Mistakes the loader refuses", lists the same cases.
"""
from __future__ import annotations

import json

import pytest

from shared.config import ConfigError, config_errors, load_config

BASE = """project: demo
mode: enforce
outcomes_topic: projects/demo/topics/runwarden-outcomes
services:
  - name: projects/demo/locations/us-central1/services/backend
"""
SERVICE_LINE = 5
CONN = "projects/demo/locations/us-central1/connectors/backend-conn"

MISTAKES = [
    # YAML 1.1 reads these otherwise than they look.
    ("a key given twice drops the first section (and its kill switch)",
     "guardrails:\n  kill_switch: true\nguardrails:\n  cooldown_seconds: 60\n", 8, None, ["'guardrails' is given twice", "line 6"]),
    ("a field given twice in a section",
     "guardrails:\n  kill_switch: true\n  kill_switch: false\n", 8, None, ["'kill_switch' is given twice"]),
    ("a top-level key given twice", "mode: dry_run\n", 6, None, ["'mode' is given twice", "line 2"]),
    ("a duration in base 60 (1:30 is 90 s in YAML 1.1)", "guardrails:\n  cooldown_seconds: 1:30\n", 7, None,
     ["base 60", "whole seconds"]),
    ("a leading zero (0600 is octal 384 in YAML 1.1)", "guardrails:\n  cooldown_seconds: 0600\n", 7, None,
     ["octal", "plain decimal"]),
    ("a hex number", "delivery:\n  max_attempts: 0x0a\n", 7, None, ["hex"]),
    ("a duration with a unit", "guardrails:\n  cooldown_seconds: 30m\n", 7, "guardrails.cooldown_seconds",
     ["30m is 1800"]),
    ("a section left empty", "guardrails:\n", 6, "guardrails", ["empty (null)", "remove the line"]),
    ("a misspelt field", "guardrails:\n  cooldown_second: 600\n", 7, "guardrails.cooldown_second",
     ["did you mean cooldown_seconds?"]),
    ("mode capitalised", None, 2, "mode", ["write enforce"]),
    # Names that never match what alerts and APIs name: the resource would be silently unmanaged.
    ("a service by project number", "  - name: projects/123456789012/locations/us-central1/services/api\n",
     SERVICE_LINE + 1, "services.1.name", ["by its number", "project id"]),
    ("a service with capitals", "  - name: projects/demo/locations/us-central1/services/Api\n", SERVICE_LINE + 1,
     "services.1.name", ["lowercase"]),
    ("a service in a zone", "  - name: projects/demo/locations/us-central1-a/services/api\n", SERVICE_LINE + 1,
     "services.1.name", ["is a zone", "us-central1"]),
    # A location that is no region (a placeholder, a multi-region, `global`): the alerts path refuses such a
    # notification label, so a name in one matched no alert, and the resource went unmanaged unsaid.
    ("a service in a placeholder location", "  - name: projects/demo/locations/l/services/api\n", SERVICE_LINE + 1,
     "services.1.name", ["location 'l' is not a region", "us-central1"]),
    ("a service in a multi-region", "  - name: projects/demo/locations/us/services/api\n", SERVICE_LINE + 1,
     "services.1.name", ["location 'us' is not a region (a multi-region)"]),
    ("a connector policy in global",
     "bounds:\n  connectors:\n    - name: projects/demo/locations/global/connectors/backend-conn\n", 8,
     "bounds.connectors.0.name", ["location 'global' is not a region (the location of resources that have none)"]),
    ("a Cloud SQL instance in a multi-region", "    cloudsql_instances: ['demo:eu:orders-db']\n", SERVICE_LINE + 1,
     "services.0.cloudsql_instances", ["'demo:eu:orders-db' names location 'eu', which is not a region"]),
    ("a service name with a trailing space", "  - name: 'projects/demo/locations/us-central1/services/api '\n",
     SERVICE_LINE + 1, "services.1.name", ["spaces"]),
    ("a service by its short name", "  - name: api\n", SERVICE_LINE + 1, "services.1.name",
     ["projects/PROJECT/locations/REGION/services/api"]),
    ("the same service twice, with other settings",
     "  - name: projects/demo/locations/us-central1/services/backend\n    cloudsql_instances: [demo:us-central1:db]\n",
     4, "services", ["listed more than once"]),
    ("one custom domain under two services",
     "    domains: [api.example.com]\n  - name: projects/demo/locations/us-central1/services/other\n"
     "    domains: [API.example.com]\n", 4, "services", ["domain api.example.com is listed more than once"]),
    ("a domain written as a URL", "    domains: ['https://api.example.com/']\n", SERVICE_LINE + 1,
     "services.0.domains", ["no scheme, port, path"]),
    ("a connector policy given twice (the second, looser one silently ignored)",
     f"bounds:\n  connectors:\n    - {{name: {CONN}, max_instances_ceiling: 4}}\n"
     f"    - {{name: {CONN}, max_instances_ceiling: 10, allow_one_way: true}}\n", 7, "bounds.connectors",
     ["listed more than once"]),
    ("a connector by project number", "bounds:\n  connectors:\n    - name: projects/42/locations/us-central1/connectors/c\n",
     8, "bounds.connectors.0.name", ["by its number"]),
    ("a connector policy in a region where no managed service runs (a typo: the real one gets the default)",
     "bounds:\n  connectors:\n    - name: projects/demo/locations/europe-west1/connectors/backend-conn\n", 6,
     "bounds", ["is in europe-west1, where no managed service runs", "us-central1"]),
    # Bounds.
    ("a day's budget below an hour's", "guardrails:\n  max_actions_per_target_per_hour: 3\n"
     "  max_actions_per_target_per_day: 2\n", 6, "guardrails", ["swapped"]),
    ("a percentage for a fraction", "diagnosis:\n  act_min_confidence: 80\n", 7, "diagnosis.act_min_confidence",
     ["fraction of 1", "80% is 0.8"]),
    # Durations read as whole minutes: every window of the request metrics is read per minute (alignment
    # 60 s), so a window of 90 s holds one point or two, depending on where the minute falls.
    ("a lookback that is not whole minutes", "diagnosis:\n  lookback_seconds: 90\n", 7, "diagnosis.lookback_seconds",
     ["90 is not a whole number of minutes", "per minute", "write 60 or 120"]),
    ("a lookback a second short of its minutes", "diagnosis:\n  lookback_seconds: 899\n", 7,
     "diagnosis.lookback_seconds", ["899 is not a whole number of minutes", "write 840 or 900"]),
    ("a recent window of two and a half minutes", "diagnosis:\n  recent_seconds: 150\n", 7,
     "diagnosis.recent_seconds", ["150 is not a whole number of minutes", "write 120 or 180"]),
    ("a baseline of an hour and a few seconds", "diagnosis:\n  baseline_seconds: 3601\n", 7,
     "diagnosis.baseline_seconds", ["3601 is not a whole number of minutes", "write 3600 or 3660"]),
    ("an incident window bound not whole minutes", "diagnosis:\n  max_incident_window_seconds: 1830\n", 7,
     "diagnosis.max_incident_window_seconds", ["1830 is not a whole number of minutes", "write 1800 or 1860"]),
    ("a lookback at its ceiling plus a few seconds is out of range first", "diagnosis:\n  lookback_seconds: 21630\n",
     7, "diagnosis.lookback_seconds", ["less than or equal to 21600"]),
    # Who is who.
    ("an operator with an IAM prefix", "operators: ['user:alice@example.com']\n", 6, "operators",
     ["IAM prefix", "'alice@example.com'"]),
    ("an operator by first name", "operators: [alice]\n", 6, "operators", ["not an email"]),
    ("a group as an operator", "operators: ['group:sre@example.com']\n", 6, "operators", ["each member"]),
    # A repeat is most often another entry mistyped as one already there: refused, naming it.
    ("an operator listed twice, in another case", "operators: [alice@example.com, bob@example.com, Alice@Example.com]\n",
     6, "operators", ["operator alice@example.com is listed more than once"]),
    ("a principal of Runwarden listed twice",
     "diagnosis:\n  self_principals: [rw@demo.iam.gserviceaccount.com, rw@demo.iam.gserviceaccount.com]\n", 7,
     "diagnosis.self_principals", ["principal rw@demo.iam.gserviceaccount.com is listed more than once"]),
    ("a Cloud SQL instance listed twice under a service",
     "    cloudsql_instances: ['demo:us-central1:orders-db', 'demo:us-central1:orders-db']\n", SERVICE_LINE + 1,
     "services.0.cloudsql_instances", ["Cloud SQL instance demo:us-central1:orders-db is listed more than once"]),
    ("self_principals with an IAM prefix",
     "diagnosis:\n  self_principals: ['serviceAccount:rw@demo.iam.gserviceaccount.com']\n", 7,
     "diagnosis.self_principals", ["IAM prefix"]),
    # Redelivery: the subscription's dead-letter policy takes 5-100 (DeadLetterPolicy), and
    # delivery.max_attempts must equal it, so a value outside can never match what is deployed.
    ("a delivery limit below what Pub/Sub's dead-letter policy allows", "delivery:\n  max_attempts: 3\n", 7,
     "delivery.max_attempts", ["3 is outside 5-100", "max_delivery_attempts", "write a value from 5 to 100"]),
    ("a delivery limit above what Pub/Sub's dead-letter policy allows", "delivery:\n  max_attempts: 101\n", 7,
     "delivery.max_attempts", ["101 is outside 5-100", "DeadLetterPolicy"]),
    # Names of Runwarden's own resources.
    ("a short commands topic", "commands_topic: runwarden-commands\n", 6, "commands_topic", ["full topic name"]),
    ("a Firestore database id that cannot exist", "state:\n  database: Runwarden_DB\n", 7, "state.database",
     ["pattern"]),
]


def _write(tmp_path, extra: str | None) -> str:
    path = tmp_path / "runwarden.yaml"
    text = BASE.replace("mode: enforce", "mode: Enforce") if extra is None else BASE + extra
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("label, extra, line, field, words", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_mistake_is_refused_naming_its_line_and_what_to_write(tmp_path, label, extra, line, field, words):
    path = _write(tmp_path, extra)
    errors = config_errors(path)
    assert errors, f"{label}: accepted"
    first = errors[0]
    assert first.startswith(f"{path}:{line}: "), first
    if field is not None:
        assert first.startswith(f"{path}:{line}: {field}: "), first
    for word in words:
        assert word in first, first
    # The function stops at the same first problem, with the same line.
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert str(refused.value) == first


def test_a_file_that_is_not_utf8_is_a_config_error_not_a_crash(tmp_path):
    path = tmp_path / "runwarden.yaml"
    path.write_bytes(BASE.encode() + b"# r\xe9sum\xe9\n")
    [error] = config_errors(path)
    assert error == f"{path}:6: not UTF-8 text (byte 0xe9): save the file as UTF-8"
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


@pytest.mark.parametrize("raw, words", [
    (b"", "the file is empty"),
    (b"# all commented out\n", "the file is empty"),
    (b"- project: demo\n", "not a list"),
])
def test_a_file_with_no_mapping_says_what_it_holds(tmp_path, raw, words):
    path = tmp_path / "runwarden.yaml"
    path.write_bytes(raw)
    assert words in config_errors(path)[0]
    with pytest.raises(ConfigError, match=words):
        load_config(path)


def test_a_relative_path_that_is_missing_names_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNWARDEN_CONFIG", "runwarden.yaml")
    with pytest.raises(ConfigError) as missing:
        load_config()
    assert f"relative to the working directory {tmp_path}" in str(missing.value)
    assert "No such file" in str(missing.value)


@pytest.mark.parametrize("extra, check", [
    # What people write that means what it says, and is read so.
    ("guardrails:\n  kill_switch: 'false'\n", lambda c: c.guardrails.kill_switch is False),
    ("guardrails:\n  kill_switch: yes\n", lambda c: c.guardrails.kill_switch is True),
    ("guardrails:\n  cooldown_seconds: '900'\n", lambda c: c.guardrails.cooldown_seconds == 900),
    ("guardrails:\n  cooldown_seconds: 1_800\n", lambda c: c.guardrails.cooldown_seconds == 1800),
    ("guardrails:\n  cooldown_seconds: 0\n", lambda c: c.guardrails.cooldown_seconds == 0),
    ("bounds:\n  connectors:\n    - &policy {name: " + CONN + ", max_instances_ceiling: 5}\n"
     "    - <<: *policy\n      name: projects/demo/locations/us-central1/connectors/other\n",
     lambda c: [p.max_instances_ceiling for p in c.bounds.connectors] == [5, 5]),
    ("    domains: [API.Example.com.]\n", lambda c: c.services[0].domains == ("API.Example.com.",)),
    ("operators: [Alice@Example.com]\n", lambda c: c.is_operator("alice@example.com")),
    ("diagnosis:\n  lookback_seconds: 1200\n  recent_seconds: 120\n  baseline_seconds: 7200\n"
     "  max_incident_window_seconds: 3600\n",
     lambda c: (c.diagnosis.lookback_seconds, c.diagnosis.recent_seconds, c.diagnosis.baseline_seconds,
                c.diagnosis.max_incident_window_seconds) == (1200, 120, 7200, 3600)),
    # Durations not read per minute take any whole number of seconds.
    ("diagnosis:\n  max_data_delay_seconds: 450\n  deploy_window_seconds: 1830\n",
     lambda c: (c.diagnosis.max_data_delay_seconds, c.diagnosis.deploy_window_seconds) == (450, 1830)),
])
def test_what_means_what_it_says_is_accepted(tmp_path, extra, check):
    path = _write(tmp_path, extra)
    assert config_errors(path) == []
    assert check(load_config(path))


def test_a_bom_is_accepted(tmp_path):
    path = tmp_path / "runwarden.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert config_errors(path) == [] and load_config(path).project == "demo"


@pytest.mark.parametrize("bad", [
    b"guardrails:\n  kill_switch: true\nguardrails:\n  cooldown_seconds: 60\n",   # a key given twice
    b"# r\xe9sum\xe9\n",                                                         # not UTF-8
])
def test_the_function_logs_the_critical_config_error_for_every_kind_of_bad_file(tmp_path, monkeypatch, capsys, bad):
    """functions/runtime.py pages (watchdog.tf `config_error`) on the CRITICAL step: a bad file of
    any kind must reach it, never a bare crash that only the generic error policy sees."""
    import functions.runtime as instance

    (tmp_path / "bad.yaml").write_bytes(BASE.encode() + bad)
    monkeypatch.setenv("RUNWARDEN_CONFIG", str(tmp_path / "bad.yaml"))
    instance.reset()
    try:
        with pytest.raises(ConfigError):
            instance.runtime()
    finally:
        instance.reset()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [(line["runwarden"]["step"], line["severity"]) for line in lines] == [("config_error", "CRITICAL")]
    assert str(tmp_path / "bad.yaml") in lines[0]["message"]


@pytest.mark.parametrize("extra, line, field, message", [
    ("operators: alice@example.com\n", 6, "operators", "must be a list: write [alice@example.com]"),
    ("    cloudsql_instances: demo:us-central1:db\n", 6, "services.0.cloudsql_instances",
     "must be a list: write [demo:us-central1:db]"),
    (f"bounds:\n  connectors:\n    {CONN}:\n      max_instances_ceiling: 4\n", 7, "bounds.connectors",
     "must be a list of entries, each starting with '- ' (- name: ...), not a mapping"),
    ("actions:\n  scale_connector: dry_run\n", 7, "actions.scale_connector",
     "must be a mapping of its fields (field: value lines under it), not 'dry_run'"),
    ("kill_switch: true\n", 6, "kill_switch",
     "unknown field at the top level (it belongs under guardrails): a misspelt field is refused, never ignored"),
])
def test_a_shape_mistake_says_what_to_write(tmp_path, extra, line, field, message):
    path = _write(tmp_path, extra)
    assert config_errors(path) == [f"{path}:{line}: {field}: {message}"]


def test_a_file_far_larger_than_any_config_is_refused_before_it_is_parsed(tmp_path):
    from shared.config import MAX_CONFIG_BYTES

    path = tmp_path / "runwarden.yaml"
    path.write_text(BASE + "# padding\n" * (MAX_CONFIG_BYTES // 10))
    [error] = config_errors(path)
    assert "is it the right file?" in error
    with pytest.raises(ConfigError, match="is it the right file"):
        load_config(path)
