"""The rollback target's startup read, against the Logging stand-in through the real adapter.

When the service read's page is full (scenario deploy_log_flood_previous_secret_disabled: the new
revision's 1,900 error entries fill the newest 300), collection asks Logging a second, narrow
question: the candidate targets' own Cloud Run startup texts (log_signals.target_startup_filter).
Its request is held in a golden file, as every other request (test_contracts.py); its answer is
served as Logging serves a filter (resource.labels.revision_name, a global restriction, newest first,
at most pageSize and a token when more matched); and a used-up entries.list quota
(RESOURCE_EXHAUSTED, Cloud Logging "Quotas and limits") leaves the target's startups not known,
which escalates instead of rolling back.
"""
from __future__ import annotations

from datetime import timedelta

from sandbox.scenarios import resolve_scenario, seed
from sandbox.standins.logging import EntrySeed, log_name_for
from shared.config import DiagnosisSettings
from shared.diagnosis.collection import STARTUP_PAGE, Readers, collect
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import target_startup_filter
from shared.diagnosis.signatures import Signature
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter
from shared.remediation.planning import plan

from tests.contracts.test_contracts import QUICK, _check, _recorded

SERVICE = "projects/shop-prod/locations/us-central1/services/checkout"
TARGET = "checkout-00057-fud"
SCENARIO = "deploy_log_flood_previous_secret_disabled"


def _collect(standin_env, anchor):
    seed(standin_env, resolve_scenario(SCENARIO), anchor)
    readers = Readers(run=CloudRunAdapter(policy=QUICK), monitoring=CloudMonitoringAdapter(policy=QUICK),
                      logging=CloudLoggingAdapter(policy=QUICK), vpcaccess=VpcAccessAdapter(policy=QUICK))
    return collect(SERVICE, anchor, readers, DiagnosisSettings(), anchor + timedelta(minutes=2))


def test_the_startup_read_after_a_full_page(standin_env, anchor):
    bundle = _collect(standin_env, anchor)

    assert bundle.logs.truncated and all(e.resource_labels["revision_name"] != TARGET for e in bundle.logs.entries)
    read = bundle.target_startup
    assert read.revisions == (TARGET,) and read.failure == ""
    # Only the target's startup texts: its probe failures and its exits with an error ("Container called
    # exit(1)."), not its application's own lines.
    assert len(read.result.entries) == 20 and not read.result.truncated
    assert all(e.resource_labels["revision_name"] == TARGET for e in read.result.entries)
    assert sum("STARTUP TCP probe failed" in e.text for e in read.result.entries) == 10
    assert sum(e.text == "Container called exit(1)." for e in read.result.entries) == 10
    assert bundle.api_calls == 13
    _check("logging_target_startup", _recorded(standin_env.logging), ordered=False)


def test_the_startup_read_is_served_newest_first_one_page_with_a_token_when_more_matched(standin_env, anchor):
    """More startup failures on the target than the read's page: the newest STARTUP_PAGE, marked cut
    short (a next_page_token: ListLogEntriesResponse), and still only the asked-for revisions."""
    system = log_name_for("shop-prod", "run.googleapis.com/varlog/system")
    labels = {"project_id": "shop-prod", "service_name": "checkout", "location": "us-central1",
              "configuration_name": "checkout"}
    probe = 'Default STARTUP HTTP probe failed 3 times consecutively for container "checkout-1" on path "/healthz".'
    standin_env.logging.add_entries(
        [EntrySeed(system, anchor - timedelta(seconds=i), "cloud_run_revision", {**labels, "revision_name": TARGET},
                   "ERROR", text=probe) for i in range(STARTUP_PAGE + 20)]
        + [EntrySeed(system, anchor + timedelta(seconds=i), "cloud_run_revision",
                     {**labels, "revision_name": "checkout-00058-woz"}, "ERROR", text=probe) for i in range(30)])
    query = target_startup_filter("shop-prod", "checkout", "us-central1", (TARGET,), anchor - timedelta(minutes=15),
                                  anchor + timedelta(minutes=2))

    read = CloudLoggingAdapter(policy=QUICK).list_entries("shop-prod", query, STARTUP_PAGE)

    assert len(read.entries) == STARTUP_PAGE and read.truncated
    assert {e.resource_labels["revision_name"] for e in read.entries} == {TARGET}
    stamps = [e.timestamp for e in read.entries]
    assert stamps == sorted(stamps, reverse=True) and stamps[0] == anchor


def test_a_used_up_read_quota_leaves_the_targets_startups_unknown_and_escalates(standin_env, anchor):
    """entries.list is rate-limited per project (Cloud Logging "Quotas and limits"; docs/timeline.md):
    the service read and the audit read take the minute's two calls the stand-in allows here, and the
    startup read is refused with RESOURCE_EXHAUSTED through its retries. The evidence already read
    stands, the refusal is a named gap, and no rollback goes to a revision whose starts were not seen."""
    fixed = anchor + timedelta(minutes=2, seconds=5)
    standin_env.logging.clock = lambda: fixed
    standin_env.logging.read_quota = 2

    bundle = _collect(standin_env, anchor)
    result = diagnose(bundle, DiagnosisSettings())

    assert bundle.target_startup.result is None and "ResourceExhausted: 429" in bundle.target_startup.failure
    assert any(g.startswith("logging: the rollback's candidate targets' startup failures") for g in bundle.gaps)
    assert result.signature is Signature.BAD_REVISION and result.known_good_revision is None, result.summary
    assert f"whether {TARGET}'s own instances start is not known" in result.summary, result.summary
    assert plan(result, bundle, DiagnosisSettings()).action is None
