"""The exact requests each adapter sends, as golden files: method, filter, aggregation, masks and
bodies. A change to a request changes a file under tests/contracts/golden/, so it shows in review
beside docs/api-contracts.md, which cites what allows each request.

The requests are recorded by the stand-ins (they log every request they receive, as deserialised
by the real client libraries' own types) while the real adapters run one incident's reads and the
two writes. Values the stand-ins make up (etags, uids, operation ids, times they stamp) are
replaced by placeholders; everything the adapters choose is kept.

    UPDATE_GOLDEN=1 pytest tests/contracts     # rewrite the files after an intended change
"""
from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict

from sandbox.scenarios import resolve_scenario, seed
from shared.config import DiagnosisSettings
from shared.diagnosis.collection import Readers, collect
from shared.diagnosis.evidence import TrafficTarget, TrafficType
from shared.gcp.endpoints import CallPolicy
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter

GOLDEN = Path(__file__).parent / "golden"
SERVICE = "projects/demo-project/locations/us-central1/services/backend"
CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"
QUICK = CallPolicy(call_timeout=5, attempts=2, initial_backoff=0.01, max_backoff=0.05, total_timeout=5)
_MADE_UP = {"etag": "<etag>", "uid": "<uid>", "create_time": "<time>", "update_time": "<time>",
            "last_transition_time": "<time>"}
_OPERATION = re.compile(r"/operations/[0-9a-f-]{8,}")


def _plain(message: Any) -> Any:
    if hasattr(type(message), "pb"):            # proto-plus
        message = type(message).pb(message)
    if hasattr(message, "DESCRIPTOR"):
        return _scrub(MessageToDict(message, preserving_proto_field_name=True))
    return _scrub(message)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _MADE_UP.get(k, _scrub(v)) if k in _MADE_UP else _scrub(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return _OPERATION.sub("/operations/<operation>", value)
    return value


def _recorded(standin: Any, methods: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    out = []
    for call in standin.calls:
        if methods is None or call.method in methods:
            request = call.request
            if hasattr(request, "verb"):        # the VPC Access REST stand-in
                request = {"verb": request.verb, "path": request.path, "params": request.params, "body": request.body}
            out.append({"method": call.method, "request": _plain(request)})
    return out


def _canonical(requests: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in requests)


def _check(name: str, recorded: list[dict[str, Any]], ordered: bool = True) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(recorded, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN") or not path.exists():
        path.write_text(text)
        if not os.environ.get("UPDATE_GOLDEN"):
            pytest.fail(f"{path} did not exist; written now: review and commit it")
    # Independent evidence reads run concurrently, so they arrive in any order: their contract is
    # the requests (with their multiplicity), not the order they happen to reach the server.
    golden = json.loads(path.read_text())
    same = golden == recorded if ordered else _canonical(golden) == _canonical(recorded)
    assert same, (
        f"the requests differ from {path}; if the change is intended, run UPDATE_GOLDEN=1 and cite the "
        "documentation that allows it in docs/api-contracts.md")


@pytest.fixture
def incident(standin_env, anchor):
    """connector_saturation: every source is read (Run, Monitoring, Logging, VPC Access, Cloud SQL)."""
    seed(standin_env, resolve_scenario("connector_saturation"), anchor)
    readers = Readers(run=CloudRunAdapter(policy=QUICK), monitoring=CloudMonitoringAdapter(policy=QUICK),
                      logging=CloudLoggingAdapter(policy=QUICK), vpcaccess=VpcAccessAdapter(policy=QUICK))
    collect(SERVICE, anchor, readers, DiagnosisSettings(), anchor + timedelta(minutes=2))
    return standin_env


def test_run_reads(incident):
    _check("run_reads", _recorded(incident.run), ordered=False)


def test_monitoring_queries(incident):
    _check("monitoring_list_time_series", _recorded(incident.monitoring), ordered=False)


def test_logging_queries(incident):
    _check("logging_list_log_entries", _recorded(incident.logging), ordered=False)


def test_vpcaccess_reads(incident):
    _check("vpcaccess_reads", _recorded(incident.vpcaccess), ordered=False)


def test_run_traffic_write(standin_env, anchor):
    seed(standin_env, resolve_scenario("bad_revision"), anchor)
    run = CloudRunAdapter(policy=QUICK, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    before = run.get_service(SERVICE)
    standin_env.run.reset_calls()
    run.set_traffic(SERVICE, [TrafficTarget(type=TrafficType.REVISION, revision="backend-00001-abc", percent=100)],
                    before.etag)
    _check("run_update_service", _recorded(standin_env.run, ("UpdateService",)))


def test_vpcaccess_patch(standin_env, anchor):
    seed(standin_env, resolve_scenario("connector_saturation"), anchor)
    vpc = VpcAccessAdapter(policy=QUICK, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    connector = vpc.get_connector(CONNECTOR)
    standin_env.vpcaccess.reset_calls()
    vpc.update_connector(CONNECTOR, min_instances=connector.min_instances, max_instances=connector.max_instances + 1)
    _check("vpcaccess_patch_connector", _recorded(standin_env.vpcaccess, ("PatchConnector",)))


def test_the_secrets_a_revision_reads_come_back_by_name_and_version(standin_env, anchor):
    """The stand-in keeps secrets where Cloud Run v2 does (k8s_min.proto: EnvVar.value_source.secret_key_ref,
    Volume.secret with VersionToPath items) and the adapter reads them back through the client: names
    and versions, never a value."""
    from shared.diagnosis.evidence import SecretRef

    service = "projects/shop-prod/locations/us-central1/services/ledger"
    standin_env.run.add_service(service, {"runwarden": "enabled"})
    standin_env.run.add_revision(service, "ledger-00001-abc", anchor - timedelta(days=1),
                                 env=(("DB_HOST", "10.20.0.5"),),
                                 secret_env=(("DB_PASSWORD", "ledger-db-password", "4"),
                                             ("DATABASE_URL", "projects/shared-prod/secrets/ledger-url", "latest")),
                                 secret_volumes=(("config", "ledger-config", "/etc/ledger", (("app.json", "7"),)),
                                                 ("tls", "ledger-tls", "/etc/tls", ())))

    revision, = CloudRunAdapter(policy=QUICK).list_revisions(service)

    assert revision.env_values == ("10.20.0.5",)
    assert revision.secrets == (
        SecretRef(env="DB_PASSWORD", secret="ledger-db-password", version="4"),
        SecretRef(env="DATABASE_URL", secret="projects/shared-prod/secrets/ledger-url", version="latest"),
        # No mode set: a file's mode is 0444 ("defaulting to 0444", SecretVolumeSource.default_mode).
        SecretRef(volume="config", secret="ledger-config", version="7", path="app.json", mode=0o444),
        SecretRef(volume="tls", secret="ledger-tls", version="", mode=0o444))
