"""Secret Manager through the real client library against the stand-in (sandbox/standins/secretmanager.py),
found through SECRET_MANAGER_EMULATOR_HOST: GetSecretVersion answers a version's state, never a payload;
NOT_FOUND and PERMISSION_DENIED leave the adapter with their codes (IAM's refusal naming the permission).
Then the rollback target's pinned versions read through collection (collection.target_secret_reads,
bundle.target_secrets) on the bundled scenarios: a version disabled since the target served holds the rollback."""
from __future__ import annotations

import time
from datetime import timedelta

import grpc
import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.collection import Readers, collect
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext
from shared.errors import PermanentError, TransientError
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.secretmanager import SecretManagerAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter
from shared.remediation.planning import plan

S = DiagnosisSettings()
SECRET = "projects/ord-prod/secrets/orders-db-password"
ORDERS = "projects/ord-prod/locations/us-east1/services/orders"
FIVE_XX = AlertContext(resource_type="cloud_run_revision", metric_type="run.googleapis.com/request_count",
                       comparison="COMPARISON_GT", threshold=0.05, metric_labels={"response_code_class": "5xx"},
                       ratio=True)


@pytest.fixture
def secrets(standin_env):
    standin_env.secretmanager.add_version(SECRET, 6, "DISABLED")
    standin_env.secretmanager.add_version(SECRET, 7, "ENABLED")
    standin_env.secretmanager.add_version(SECRET, 5, "DESTROYED")
    adapter = SecretManagerAdapter()
    yield adapter
    adapter.close()


@pytest.mark.parametrize("version, state", [("5", "DESTROYED"), ("6", "DISABLED"), ("7", "ENABLED"),
                                            ("latest", "ENABLED")])
def test_a_version_is_read_with_its_state(secrets, version, state):
    read = secrets.get_secret_version(f"{SECRET}/versions/{version}")
    assert read.state == state
    # "latest" is "an alias to the most recently created SecretVersion" (GetSecretVersionRequest.name).
    assert read.name == f"{SECRET}/versions/{'7' if version == 'latest' else version}"


def test_latest_resolves_to_the_newest_version_whatever_its_state(secrets, standin_env):
    # "an alias to the most recently created SecretVersion" (GetSecretVersionRequest.name): not the newest
    # ENABLED one. Accessing it then fails ("is in DESTROYED state", FAILED_PRECONDITION:
    # google-github-actions/get-secretmanager-secrets#268), so the state read is the one that matters.
    standin_env.secretmanager.add_version(SECRET, 8, "DISABLED")
    read = secrets.get_secret_version(f"{SECRET}/versions/latest")
    assert (read.name, read.state) == (f"{SECRET}/versions/8", "DISABLED")


def test_an_alias_resolves_to_its_version(secrets, standin_env):
    # Secret.version_aliases: "Access by alias is only be supported on GetSecretVersion and AccessSecretVersion".
    standin_env.secretmanager.add_alias(SECRET, "live", 6)
    read = secrets.get_secret_version(f"{SECRET}/versions/live")
    assert (read.name, read.state) == (f"{SECRET}/versions/6", "DISABLED")
    with pytest.raises(PermanentError) as refused:
        secrets.get_secret_version(f"{SECRET}/versions/canary")   # no version has that alias
    assert refused.value.code == "NOT_FOUND"


@pytest.mark.parametrize("alias", ["latest", "NEW", "9lives", ""])
def test_the_stand_in_refuses_an_alias_the_api_refuses(standin_env, alias):
    # "An alias string must start with a letter and cannot be the string 'latest' or 'NEW'" (Secret.version_aliases).
    with pytest.raises(ValueError):
        standin_env.secretmanager.add_alias(SECRET, alias, 1)


@pytest.mark.parametrize("name", [f"{SECRET}/versions/9", "projects/ord-prod/secrets/nope/versions/1"])
def test_a_version_or_secret_that_does_not_exist_is_not_found(secrets, name):
    with pytest.raises(PermanentError) as refused:
        secrets.get_secret_version(name)
    assert refused.value.code == "NOT_FOUND"


def test_a_secret_the_caller_may_not_read_is_refused_naming_the_permission(secrets, standin_env):
    standin_env.secretmanager.deny(SECRET)
    with pytest.raises(PermanentError) as refused:
        secrets.get_secret_version(f"{SECRET}/versions/6")
    assert refused.value.code == "PERMISSION_DENIED" and "secretmanager.versions.get" in str(refused.value)


REGIONAL = "projects/ord-prod/locations/us-east1/secrets/orders-db-password"


def test_a_regional_version_is_read_on_its_locations_client(secrets, standin_env):
    # projects/P/locations/L/secrets/S: served by secretmanager.L.rep.googleapis.com (shared/gcp/secretmanager.py
    # cites it; tests/unit/test_secret_regional_endpoint.py holds the client's host), never the global endpoint.
    standin_env.secretmanager.add_version(REGIONAL, 6, "DISABLED")
    read = secrets.get_secret_version(f"{REGIONAL}/versions/6")
    assert (read.name, read.state) == (f"{REGIONAL}/versions/6", "DISABLED")
    assert list(secrets._clients) == ["us-east1"]   # no global client was built for it
    with pytest.raises(PermanentError) as refused:
        secrets.get_secret_version(f"{REGIONAL}/versions/9")
    assert refused.value.code == "NOT_FOUND"        # an answer of the endpoint that serves the secret


def test_warm_builds_the_global_client_and_close_closes_every_one(standin_env):
    standin_env.secretmanager.add_version(REGIONAL, 6, "ENABLED")
    adapter = SecretManagerAdapter()
    adapter.warm()
    built = adapter._clients[""]
    adapter.warm()                                  # idempotent
    assert adapter._clients[""] is built
    adapter.get_secret_version(f"{REGIONAL}/versions/6")
    assert set(adapter._clients) == {"", "us-east1"}
    # grpc.channel_ready_future (endpoints.connect) leaves a thread watching the channel's state 0.2 s at a time
    # (grpc/_channel.py `_poll_connectivity`): closed within that, its next check raises "Channel closed!" there.
    time.sleep(0.5)
    adapter.close()
    assert adapter._clients == {}


def test_a_transient_fault_is_retried_then_answered(secrets, standin_env):
    standin_env.secretmanager.faults.fail_next(1, grpc.StatusCode.UNAVAILABLE, method="GetSecretVersion")
    assert secrets.get_secret_version(f"{SECRET}/versions/7").state == "ENABLED"
    standin_env.secretmanager.faults.fail_next(2, grpc.StatusCode.UNAVAILABLE, method="GetSecretVersion")
    with pytest.raises(TransientError):
        secrets.get_secret_version(f"{SECRET}/versions/7")


def test_the_payload_is_never_served(standin_env):
    # The stand-in serves GetSecretVersion alone: AccessSecretVersion (the payload) is not a method it has.
    assert [rpc.method for rpc in standin_env.secretmanager.rpcs()] == ["GetSecretVersion"]


def _collected(anchor, service=ORDERS, settings=S, alert=FIVE_XX):
    readers = Readers(run=CloudRunAdapter(), monitoring=CloudMonitoringAdapter(), logging=CloudLoggingAdapter(),
                      vpcaccess=VpcAccessAdapter(), secretmanager=SecretManagerAdapter())
    try:
        return collect(service, anchor, readers, settings, anchor + timedelta(minutes=2), alert=alert)
    finally:
        readers.close()   # every client, before the stand-in stops (else gRPC logs its GOAWAY)


def test_a_rollback_target_pinning_a_disabled_version_is_held(standin_env, seed_scenario, anchor):
    seed_scenario("rollback_target_secret_version_disabled")

    bundle = _collected(anchor)

    assert [(r.revision, r.where, r.version, r.state) for r in bundle.target_secrets] == [
        ("orders-00211-jel", "env DB_PASSWORD", "6", "DISABLED"), ("orders-00211-jel", "env STRIPE_KEY", "2", "ENABLED")]
    result = diagnose(bundle, S)
    assert result.known_good_revision is None and plan(result, bundle, S).action is None, result.summary
    assert "orders-db-password version 6, which is DISABLED" in result.no_target_reason, result.no_target_reason


def test_the_control_pinning_enabled_versions_is_rolled_back_to(standin_env, seed_scenario, anchor):
    seed_scenario("rollback_target_secret_version_enabled_control")

    bundle = _collected(anchor)

    assert {r.state for r in bundle.target_secrets} == {"ENABLED"}
    assert diagnose(bundle, S).known_good_revision == "orders-00211-jel"


def test_a_rollback_target_reading_latest_whose_newest_version_is_disabled_is_held(standin_env, seed_scenario,
                                                                                   anchor):
    seed_scenario("rollback_target_secret_latest_disabled")

    bundle = _collected(anchor)

    assert [(r.where, r.version, r.resolved, r.state) for r in bundle.target_secrets] == [
        ("env DB_PASSWORD", "7", "", "ENABLED"), ("env STRIPE_KEY", "latest", "3", "DISABLED")]
    result = diagnose(bundle, S)
    assert result.known_good_revision is None and plan(result, bundle, S).action is None, result.summary
    assert "stripe-key version latest (version 3), which is DISABLED" in result.no_target_reason, \
        result.no_target_reason


def test_a_rollback_target_reading_an_alias_of_an_enabled_version_is_rolled_back_to(standin_env, seed_scenario,
                                                                                   anchor):
    seed_scenario("rollback_target_secret_alias_enabled_control")

    bundle = _collected(anchor)

    assert [(r.version, r.resolved, r.state) for r in bundle.target_secrets] == [
        ("7", "", "ENABLED"), ("live", "2", "ENABLED")]
    assert diagnose(bundle, S).known_good_revision == "orders-00211-jel"


def test_a_refused_read_is_a_gap_and_holds_nothing_back(standin_env, seed_scenario, anchor):
    seed_scenario("rollback_target_secret_version_disabled")
    standin_env.secretmanager.faults.deny(method="GetSecretVersion")

    bundle = _collected(anchor)

    assert {r.refusal for r in bundle.target_secrets} == {"PERMISSION_DENIED"}
    assert any("secretmanager.versions.get" in g and "PERMISSION_DENIED" in g for g in bundle.gaps), bundle.gaps
    result = diagnose(bundle, S)
    # Not known, so as before this read existed: the rollback proceeds, the refusal in its evidence.
    assert result.known_good_revision == "orders-00211-jel", result.summary
    assert any("secretmanager.versions.get" in e.query and "PERMISSION_DENIED" in e.observed
               for e in result.evidence)


def test_a_transient_failure_is_a_gap_never_the_event_retried(standin_env, seed_scenario, anchor):
    seed_scenario("rollback_target_secret_version_disabled")
    standin_env.secretmanager.faults.fail_next(10, grpc.StatusCode.UNAVAILABLE, method="GetSecretVersion")

    bundle = _collected(anchor)   # no TransientError raised

    assert {r.refusal for r in bundle.target_secrets} == {"UNAVAILABLE"}
