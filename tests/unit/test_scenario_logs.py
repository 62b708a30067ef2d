"""The `logs` / `audit_logs` scenario sections: validation and materialisation (no server)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import yaml
from google.cloud.audit import audit_log_pb2
from pydantic import ValidationError

from sandbox.scenario_logs import REQUEST_TEXT, AuditLogSpec, LogSpec, check_log_specs, materialize_logs
from sandbox.standins.logging import entry_from_seed

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
NEW = "backend-00002-xyz"


def log(**fields) -> LogSpec:
    return LogSpec.model_validate({"service": "backend", "revision": NEW, "log": "requests", "at": "-1m", **fields})


def seeds(logs=(), audit_logs=()):
    return materialize_logs("demo-project", "us-central1", logs, audit_logs, T0)


def test_yaml_section_parses():
    section = yaml.safe_load("""
logs:
  - {at: -2m, log: requests, service: backend, revision: backend-00002-xyz, status: 503, latency: 30.2s, count: 3}
  - at: {from: -10m, to: 0, every: 1m}
    log: stderr
    service: backend
    revision: backend-00002-xyz
    severity: error
    text: "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached"
audit_logs:
  - {at: -8m, method: google.cloud.run.v2.Services.UpdateService, service: backend,
     principal: alice@example.com, kind: traffic}
""")
    logs = [LogSpec.model_validate(x) for x in section["logs"]]
    audits = [AuditLogSpec.model_validate(x) for x in section["audit_logs"]]

    assert logs[0].latency == timedelta(seconds=30.2) and logs[0].count == 3
    assert logs[1].severity == "ERROR" and len(logs[1].offsets()) == 10
    assert audits[0].at == timedelta(minutes=-8) and audits[0].kind == "traffic"
    assert len(seeds(logs, audits)) == 3 + 10 + 2  # an audited change logs its operation twice


def test_requests_entry_has_run_resource_http_and_platform_text():
    [seed] = seeds([log(status=503, latency="30.2s")])

    assert seed.log_name == "projects/demo-project/logs/run.googleapis.com%2Frequests"
    assert seed.timestamp == T0 - timedelta(minutes=1)
    assert seed.resource_type == "cloud_run_revision"
    assert seed.resource_labels == {"project_id": "demo-project", "service_name": "backend", "revision_name": NEW,
                                    "location": "us-central1", "configuration_name": "backend"}
    assert (seed.http_status, seed.http_latency, seed.severity) == (503, timedelta(seconds=30.2), "ERROR")
    assert seed.text == REQUEST_TEXT[503]


@pytest.mark.parametrize(("status", "severity", "text"), [
    (None, "INFO", None),                  # default status 200
    (200, "INFO", None),
    (404, "WARNING", None),
    (429, "WARNING", REQUEST_TEXT[429]),
    (500, "ERROR", None),                  # an app's own 500 carries no platform text
    (503, "ERROR", REQUEST_TEXT[503]),
    (504, "ERROR", REQUEST_TEXT[504]),
])
def test_request_defaults_follow_the_status(status, severity, text):
    [seed] = seeds([log(status=status)])
    assert (seed.http_status, seed.severity, seed.text) == (status or 200, severity, text)


def test_explicit_text_severity_and_empty_text_win():
    [custom] = seeds([log(status=500, severity="CRITICAL", text="The request was aborted because there was no "
                                                                 "available instance.")])
    [silent] = seeds([log(status=503, text="")])
    assert custom.severity == "CRITICAL" and custom.text.startswith("The request was aborted")
    assert silent.text is None


def test_container_logs_use_shorthand_names_and_default_severity():
    [system] = seeds([log(log="varlog/system", text="Default STARTUP TCP probe failed")])
    [stdout] = seeds([log(log="stdout", json={"message": "hi", "n": 1})])
    assert system.log_name.endswith("/logs/run.googleapis.com%2Fvarlog%2Fsystem")
    assert system.severity == "DEFAULT" and system.http_status is None
    assert stdout.json == {"message": "hi", "n": 1} and stdout.text is None


def test_spans_and_counts():
    every = log(at={"from": "-10m", "to": "-5m", "every": "1m"}, count=2).offsets()
    spread = log(at={"from": "-10m", "to": "0"}, count=4).offsets()
    repeated = log(at="-30s", count=3).offsets()

    assert every == [timedelta(minutes=m) for m in (-9, -9, -8, -8, -7, -7, -6, -6, -5, -5)]
    assert spread == [timedelta(minutes=m) for m in (-7.5, -5, -2.5, 0)]
    assert repeated == [timedelta(seconds=-30)] * 3


def test_audit_entry_shape():
    v2, v2_end = seeds(audit_logs=[AuditLogSpec(at="-8m", service="backend", principal="alice@example.com")])
    v1, _ = seeds(audit_logs=[AuditLogSpec(at="-8m", service="backend", principal="bob@example.com",
                                          method="google.cloud.run.v1.Services.ReplaceService")])

    assert v2.log_name == "projects/demo-project/logs/cloudaudit.googleapis.com%2Factivity"
    assert v2.severity == "NOTICE" and v2.resource_type == "cloud_run_revision"
    assert v2.resource_labels["service_name"] == "backend" and v2.resource_labels["revision_name"] == ""
    assert v2.audit.method_name == "google.cloud.run.v2.Services.UpdateService"
    assert v2.audit.service_name == "run.googleapis.com"
    assert v2.audit.resource_name == "projects/demo-project/locations/us-central1/services/backend"
    assert v1.audit.resource_name == "namespaces/demo-project/services/backend"

    packed = entry_from_seed(v2).proto_payload
    assert packed.type_url == "type.googleapis.com/google.cloud.audit.AuditLog"
    audit = audit_log_pb2.AuditLog()
    packed.Unpack(audit)
    assert audit.authentication_info.principal_email == "alice@example.com"

    # The operation's end: same id, later, flagged last, with a status and no principal.
    assert v2.operation.first and not v2.operation.last
    assert v2_end.operation.last and v2_end.operation.id == v2.operation.id
    assert v2_end.timestamp > v2.timestamp and v2_end.audit.principal_email == ""
    assert v2_end.audit.status_code == 0


def test_materialized_entries_are_oldest_first():
    out = seeds([log(at="-1m"), log(at="-5m")], [AuditLogSpec(at="-8m", service="backend", principal="a@b.c")])
    assert [s.timestamp for s in out] == sorted(s.timestamp for s in out)


@pytest.mark.parametrize(("fields", "message"), [
    ({"log": "nginx"}, "use requests, stderr, stdout, varlog/system"),
    ({"revision": "frontend-00001-aaa"}, "must start with 'backend-'"),
    ({"text": "a", "json": {"b": 1}}, "not both"),
    ({"log": "stderr", "status": 500}, "belong to the requests log"),
    ({"log": "stdout", "latency": "1s"}, "belong to the requests log"),
    ({"severity": "LOUD"}, "severity 'LOUD'"),
    ({"status": 700}, "less than or equal to 599"),
    ({"count": 0}, "greater than or equal to 1"),
    ({"at": "2m ago"}, "expected an offset"),
    ({"at": {"from": "0", "to": "-1m"}}, "`from` earlier than `to`"),
    ({"at": {"from": "-2m", "to": "0", "every": "-1m"}}, "positive duration"),
    ({"latency": "0s"}, "positive duration"),
    ({"colour": "red"}, "Extra inputs are not permitted"),
])
def test_invalid_log_specs(fields, message):
    with pytest.raises(ValidationError, match=message):
        log(**fields)


def test_invalid_audit_spec():
    with pytest.raises(ValidationError, match="email"):
        AuditLogSpec(at="-1m", service="backend", principal="alice")
    with pytest.raises(ValidationError, match="kind"):
        AuditLogSpec(at="-1m", service="backend", principal="a@b.c", kind="scale")


def test_cross_check_against_scenario_services():
    services = {"backend": ["backend-00001-abc", NEW]}
    check_log_specs([log()], [AuditLogSpec(at="-1m", service="backend", principal="a@b.c")], services)
    with pytest.raises(ValueError, match=r"logs\[0\].revision 'backend-00009-zzz'"):
        check_log_specs([log(revision="backend-00009-zzz")], [], services)
    with pytest.raises(ValueError, match=r"audit_logs\[0\].service 'frontend'"):
        check_log_specs([], [AuditLogSpec(at="-1m", service="frontend", principal="a@b.c")], services)


def test_anchor_must_be_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        materialize_logs("p", "r", [log()], [], datetime(2026, 11, 26, 12, 0))


# --- `line`: the line as the container writes it, stored as Cloud Run's agent stores it -------------

PINO = '{"level":50,"time":1764662400123,"pid":1,"hostname":"h","msg":"sorry, too many clients already"}'


@pytest.mark.parametrize("line, severity, text, payload", [
    ("fail: Microsoft.EntityFrameworkCore.Database.Connection[20004]", "DEFAULT",
     "fail: Microsoft.EntityFrameworkCore.Database.Connection[20004]", None),
    (PINO + "\n", "DEFAULT", None, {"level": 50, "time": 1764662400123, "pid": 1, "hostname": "h",
                                    "msg": "sorry, too many clients already"}),
    ('{"severity":"error","message":"x","route":"/a"}', "ERROR", None, {"message": "x", "route": "/a"}),
    ('["not", "an", "object"]', "DEFAULT", '["not", "an", "object"]', None),
], ids=["plain", "pino", "severity key", "JSON array"])
def test_a_line_is_stored_as_cloud_runs_agent_stores_it(line, severity, text, payload):
    [seed] = seeds([log(log="stdout", line=line)])
    assert (seed.severity, seed.text, seed.json) == (severity, text, payload)


@pytest.mark.parametrize("fields, message", [
    ({"line": PINO, "severity": "ERROR"}, "give no `text`, `json` or `severity`"),
    ({"line": PINO, "text": "x"}, "give no `text`, `json` or `severity`"),
    ({"line": PINO, "log": "requests"}, "stdout or stderr"),
    ({"line": '{"severity":"FATAL","message":"x"}'}, "not a LogSeverity name"),
])
def test_a_line_the_agent_would_not_store_so_is_refused(fields, message):
    with pytest.raises(ValidationError, match=message):
        log(**{"log": "stdout", **fields})
