"""A `cloud_run_revision` alert that keeps `revision_name` (a policy grouped by revision, as Runwarden's own
are) is about that revision's own requests. Before, planning never looked at it: an alert naming the
revision that had served cleanly until a deploy (no longer serving, or clean in the evidence) had all
traffic rolled back to that very revision, and a connector was scaled under an incident of a revision
that no longer served. Now an action is planned only where it concerns the alert's revision: a rollback
away from it (it is the revision the diagnosis blames), a connector scale while it serves; otherwise a
person decides, told which revision the alert names and where it serves. Pure: planning on built
evidence."""
from __future__ import annotations

import copy

import pytest

from shared.alerts.incidents import parse_notification
from shared.alerts.label_filters import selected_revision
from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.scope import alert_context
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan
from tests.property.fast import scenario_model
from tests.property.harness import ANCHOR
from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import NEW, OLD, deployed, long_running, quiet_connector, saturated_connector

S = DiagnosisSettings()
GONE = "backend-00000-old"   # an earlier revision, deleted or serving nothing


def _alert(revision: str) -> AlertContext:
    return AlertContext(policy="backend 5xx ratio by revision", resource_type="cloud_run_revision",
                        metric_type="run.googleapis.com/request_count", comparison="COMPARISON_GT", threshold=0.05,
                        ratio=True, revision=revision)


def _bad_deploy(revision: str):
    bundle = quiet_connector(deployed(Evidence())).bundle()
    return bundle.model_copy(update={"alert": _alert(revision)})


def _saturated(revision: str):
    bundle = saturated_connector(long_running(Evidence()).requests(OLD, -15, 5, 20, code="503")
                                 .latency(OLD, -15, 5, 31)).bundle()
    return bundle.model_copy(update={"alert": _alert(revision)})


@pytest.mark.parametrize("bundle, signature, refused", [
    (_bad_deploy(OLD), Signature.BAD_REVISION,
     f"the alert names revision {OLD} (resource.labels.revision_name), which no longer serves (0% in the traffic "
     f"statuses): its condition held on that revision's own requests, and the rollback would send all traffic to "
     f"{OLD}; not rolling back toward the revision the alert names"),
    (_bad_deploy(GONE), Signature.BAD_REVISION,
     f"bad_revision blames {NEW}, but the alert names revision {GONE} (resource.labels.revision_name), which no "
     f"longer serves (0% in the traffic statuses): its condition held on that revision's own requests, not on {NEW}'s"),
    (_saturated(GONE), Signature.CONNECTOR_SATURATION,
     f"the alert names revision {GONE} (resource.labels.revision_name), which no longer serves"),
], ids=["rollback toward the named revision", "rollback for another revision's alert",
        "connector scaled for a revision that no longer serves"])
def test_an_action_not_about_the_alerts_revision_is_left_to_a_person(bundle, signature, refused):
    diagnosis = diagnose(bundle, S)
    assert diagnosis.signature is signature, diagnosis.summary
    proposal = plan(diagnosis, bundle, S)
    assert proposal.action is None, proposal.reason
    assert refused in proposal.reason and "a person must look" in proposal.reason, proposal.reason


@pytest.mark.parametrize("bundle, action", [
    (_bad_deploy(NEW), "rollback_traffic"),                                    # the revision the rollback leaves
    (_bad_deploy(NEW).model_copy(update={"alert": _alert("")}), "rollback_traffic"),   # no revision named
    (_saturated(OLD), "scale_connector"),                                     # the revision serving now
], ids=["names the blamed revision", "names none", "names the serving revision"])
def test_an_action_about_the_alerts_revision_is_planned_as_before(bundle, action):
    proposal = plan(diagnose(bundle, S), bundle, S)
    assert proposal.action == action, proposal.reason


def _log_match(bundle):
    """The same evidence under a log-match policy on the request log, whose notification names the revision of the
    entry it matched (its resource is the entry's: a log match has no series per revision)."""
    alert = bundle.alert.model_copy(update={
        "condition_kind": "log_match", "ratio": False, "threshold": None, "comparison": "",
        "log_filter": 'log_id("run.googleapis.com/requests") AND httpRequest.status>=500',
        "condition_filter": 'log_id("run.googleapis.com/requests") AND httpRequest.status>=500'})
    return bundle.model_copy(update={"alert": alert})


@pytest.mark.parametrize("bundle", [_log_match(_bad_deploy(OLD)), _log_match(_bad_deploy(GONE)),
                                    _log_match(_saturated(GONE))],
                         ids=["rollback toward the named revision", "rollback for another revision's alert",
                              "connector scaled for a revision that no longer serves"])
def test_a_log_match_naming_a_revision_says_what_a_log_match_says(bundle):
    """A log match's revision is the matched entry's: the reason says an entry of it matched, never that its
    condition held on that revision's requests (before, it did)."""
    proposal = plan(diagnose(bundle, S), bundle, S)
    assert proposal.action is None, proposal.reason
    assert "held on that revision's own requests" not in proposal.reason, proposal.reason
    assert "a log entry of that revision matched its condition" in proposal.reason, proposal.reason


def _selected_by_filter(bundle, revision: str):
    """The alert's condition selects one revision by its filter, and its notification, grouped by service, keeps no
    revision label: the revision is read from the filter by the path a notification takes (scope.alert_context)."""
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    document["incident"]["condition"]["conditionThreshold"]["filter"] = (
        f'metric.type="run.googleapis.com/request_count" AND resource.labels.service_name="backend" '
        f'AND resource.labels.revision_name="{revision}"')
    document["incident"]["resource"]["labels"].pop("revision_name", None)
    read = alert_context(parse_notification(document))
    alert = bundle.alert.model_copy(update={"revision": read.revision, "condition_filter": read.condition_filter})
    return bundle.model_copy(update={"alert": alert})


def test_a_condition_on_one_revision_by_its_filter_names_that_revision():
    """Before, a condition selecting the rollback target by `resource.labels.revision_name` (its notification naming
    no revision) had all traffic rolled back to the very revision it alerted on."""
    bundle = _selected_by_filter(_bad_deploy(""), OLD)
    proposal = plan(diagnose(bundle, S), bundle, S)
    assert proposal.action is None, proposal.reason
    assert (f"the alert names revision {OLD} (its condition's filter, resource.labels.revision_name = '{OLD}')"
            in proposal.reason), proposal.reason


@pytest.mark.parametrize("text,revision", [
    ('resource.labels.revision_name="backend-00001-abc"', "backend-00001-abc"),
    ('resource.label."revision_name" = one_of("backend-00001-abc")', "backend-00001-abc"),
    ('resource.labels.revision_name = one_of("backend-00001-abc", "backend-00002-xyz")', ""),
    ('resource.labels.revision_name != "backend-00001-abc"', ""),
    ('resource.labels.revision_name = starts_with("backend-")', ""),
    ('resource.labels.service_name="backend"', ""),
])
def test_selected_revision(text, revision):
    assert selected_revision(text) == revision


def test_the_alert_context_takes_the_revision_its_filter_selects():
    """bad_revision's documented OPEN (grouped by service: no revision_name in its resource) whose condition's filter
    selects backend-00001-abc: the alert is about that revision (before, it named none, and planning rolled back to
    it)."""
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    threshold = document["incident"]["condition"]["conditionThreshold"]
    threshold["filter"] += f' AND resource.labels.revision_name="{OLD}"'
    document["incident"]["resource"]["labels"].pop("revision_name", None)
    assert alert_context(parse_notification(document)).revision == OLD
    threshold["filter"] = threshold["filter"].replace(f'="{OLD}"', f'!="{OLD}"')
    assert alert_context(parse_notification(document)).revision == ""
