"""An Application Load Balancer's alert (its 5xx or latency at a serverless NEG) is escalated naming the backend it
counted, what its labels cannot say (which Cloud Run service the NEG sends requests to, which revision, whether the 5xx
were the load balancer's own) and how to route it: the managed services in the backend's project and region as
candidates, never acted on (shared/alerts/load_balancer.py). Before, it was escalated as any resource Runwarden does
not read, naming none of that.

The pipeline rows run the documented bad_revision world (backend-00002-xyz failing 60 % since its deploy) on
in-process stand-ins: even there, where a rollback would be right for backend's own alert, nothing is written.

A 5xx the load balancer answered itself (backend_type FRONTEND_5XX, INVALID_BACKEND, NO_BACKEND_SELECTED) and a
backend that is no Cloud Run service's (a backend bucket, an instance group however spelled) name no candidate; every
label is quoted and cut; a log-match policy on the load balancer's request log (http_load_balancer) is read alike.

Sources: Cloud Monitoring, "Monitored resource types" (https_lb_rule's labels); Compute Engine API, "REST Resource:
regionNetworkEndpointGroups" (NetworkEndpointGroup.cloudRun: service, tag, urlMask); Cloud Load Balancing, "Logs and
metrics for backend services", "Filtering dimensions" (the backend_type and backend_target_type values)."""
from __future__ import annotations

import copy
import json

import pytest

from shared.alerts.incidents import TargetKind, parse_notification
from shared.alerts.load_balancer import load_balancer_said, services_behind
from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

BACKEND = "projects/demo-project/locations/us-central1/services/backend"
SERVERLESS = {"project_id": "demo-project", "region": "global", "url_map_name": "web-map",
              "forwarding_rule_name": "web-fr", "target_proxy_name": "web-proxy", "backend_target_name": "api-bs",
              "backend_target_type": "BACKEND_SERVICE", "backend_name": "api-neg",
              "backend_type": "NETWORK_ENDPOINT_GROUP", "backend_scope": "us-central1",
              "backend_scope_type": "REGION", "matched_url_path_rule": "/api/*"}
LB_5XX = ('metric.type="loadbalancing.googleapis.com/https/request_count" AND resource.type="https_lb_rule" AND '
          'metric.label.response_code_class=500')


def _lb_alert(resource_type: str = "https_lb_rule", **labels: str) -> dict:
    """bad_revision's OPEN as a load balancer policy's: 5xx counted at the load balancer's backend."""
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    incident = document["incident"]
    incident["resource"] = {"type": resource_type, "labels": {**SERVERLESS, **labels}}
    incident["metric"] = {"type": "loadbalancing.googleapis.com/https/request_count", "displayName": "Request count",
                          "labels": {"response_code_class": "500", "response_code": "503"}}
    incident["condition"]["conditionThreshold"].update(filter=LB_5XX, thresholdValue=1)
    incident["observed_value"], incident["threshold_value"] = "12.4", "1"
    return document


# (name, resource type, labels over SERVERLESS, candidates said, words said)
ROWS = [
    ("a serverless NEG in backend's region", "https_lb_rule", {}, [BACKEND], ["'api-neg'", "'api-bs'", "cloudRun.service"]),
    ("a NEG type not said", "https_lb_rule", {"backend_type": ""}, [BACKEND], ["'api-neg'"]),
    ("a type no page lists", "https_lb_rule", {"backend_type": "SERVERLESS_NETWORK_ENDPOINT_GROUP"}, [BACKEND],
     ["'SERVERLESS_NETWORK_ENDPOINT_GROUP'"]),
    ("several backends", "https_lb_rule", {"backend_type": "MULTIPLE_BACKENDS"}, [BACKEND], ["'MULTIPLE_BACKENDS'"]),
    ("the internal load balancer's", "internal_http_lb_rule", {}, [BACKEND], ["'api-neg'"]),
    ("the regional external load balancer's", "http_external_regional_lb_rule", {"backend_scope": ""}, [BACKEND],
     ["'api-neg'"]),
    ("a log-based metric on its request log", "l7_lb_rule", {}, [BACKEND], ["'api-neg'"]),
    ("a log match on its request log", "http_load_balancer",
     {k: "" for k in ("backend_name", "backend_type", "backend_target_name", "backend_scope")}
     | {"backend_service_name": "api-bs"}, [BACKEND], ["of backend service 'api-bs'"]),
    ("a NEG in another region", "https_lb_rule", {"backend_scope": "europe-west1"}, [],
     ["no managed service found in project 'demo-project', region 'europe-west1'; the service may be in the backend "
      "service's project", "UNCONFIRMED"]),
    ("a NEG in another project", "https_lb_rule", {"project_id": "web-edge"}, [],
     ["no managed service found in project 'web-edge', region 'us-central1'"]),
]


_READ = ("run", "monitoring", "logging", "vpcaccess")


def _handled(kind: str = "https_lb_rule", **labels: str):
    """The outcome of the alert on the bad_revision world, and the calls each API stand-in received meanwhile."""
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    for api in _READ:
        getattr(world.standins, api).reset_calls()
    outcome = handle_alert(event(json.dumps(_lb_alert(kind, **labels)).encode(), "1"), world.config, world.adapters)
    return outcome, {api: [c.method for c in getattr(world.standins, api).calls] for api in _READ}


@pytest.mark.parametrize("name, kind, labels, candidates, words", ROWS, ids=[r[0] for r in ROWS])
def test_a_load_balancer_alert_is_escalated_naming_what_it_cannot_tell_and_how_to_route_it(
        name, kind, labels, candidates, words):
    outcome, calls = _handled(kind, **labels)
    assert calls == {api: [] for api in _READ}, calls

    assert outcome.status is OutcomeStatus.ESCALATED, outcome.reason
    assert outcome.action is None
    for said in words + ["never the Cloud Run service a serverless NEG sends requests to",
                         "run.googleapis.com/request_count (resource cloud_run_revision"]:
        assert said in outcome.reason, (said, outcome.reason)
    assert (BACKEND in outcome.reason) is bool(candidates), outcome.reason
    assert ("none is certain" in outcome.reason) is bool(candidates)


# The load balancer's own 5xx (Google's "Filtering dimensions": FRONTEND_5XX, an error before the GFE could select a
# backend; INVALID_BACKEND, no healthy backend; NO_BACKEND_SELECTED), with the labels set as before a backend is chosen.
_NONE_CHOSEN = {"backend_name": "NO_BACKEND_SELECTED", "backend_target_name": "UNKNOWN",
                "backend_target_type": "NO_BACKEND_SELECTED", "backend_scope": "NO_BACKEND_SELECTED",
                "backend_scope_type": "NO_BACKEND_SELECTED"}
OWN_5XX = [("FRONTEND_5XX", _NONE_CHOSEN), ("INVALID_BACKEND", {}), ("NO_BACKEND_SELECTED", _NONE_CHOSEN),
           ("frontend_5xx", {"backend_scope": ""})]


@pytest.mark.parametrize("backend_type, labels", OWN_5XX, ids=[r[0] for r in OWN_5XX])
def test_the_load_balancers_own_5xx_is_said_so_naming_no_service_nor_a_label_as_a_place(backend_type, labels):
    outcome, calls = _handled(backend_type=backend_type, **labels)
    assert outcome.status is OutcomeStatus.ESCALATED and outcome.action is None
    assert calls == {api: [] for api in _READ}, calls
    assert "5xx the load balancer answered itself" in outcome.reason, outcome.reason
    assert BACKEND not in outcome.reason and "NEG sends requests to" not in outcome.reason, outcome.reason
    assert "region 'NO_BACKEND_SELECTED'" not in outcome.reason and "in 'NO_BACKEND_SELECTED'" not in outcome.reason


# Backends no Cloud Run service sits behind: a bucket, an instance group as Google's page spells it and as
# Elastic's metricbeat example does.
NOT_RUN = [("a backend bucket", {"backend_target_type": "BACKEND_BUCKET", "backend_type": "UNKNOWN",
                                  "backend_name": "static-assets", "backend_scope": ""}, "a backend bucket (Cloud Storage)"),
           ("INSTANCE GROUP", {"backend_type": "INSTANCE GROUP", "backend_name": "web-mig"}, "an instance group's VMs"),
           ("INSTANCE_GROUP", {"backend_type": "INSTANCE_GROUP", "backend_name": "web-mig"}, "an instance group's VMs")]


@pytest.mark.parametrize("name, labels, said", NOT_RUN, ids=[r[0] for r in NOT_RUN])
def test_a_backend_that_is_no_cloud_run_service_names_no_candidate(name, labels, said):
    incident = parse_notification(_lb_alert(**labels))
    assert incident.target.kind is TargetKind.UNROUTABLE
    assert f"{said}, not a Cloud Run service" in incident.target.reason, incident.target.reason
    assert "serverless NEG" not in incident.target.reason
    assert services_behind(incident.resource_type, incident.resource_labels, [BACKEND]) == ""
    outcome, _ = _handled(**labels)
    assert BACKEND not in outcome.reason, outcome.reason


@pytest.mark.parametrize("label", ["project_id", "backend_scope", "backend_type", "backend_name"])
def test_a_label_is_quoted_and_cut_so_it_cannot_forge_a_line(label):
    forged = "demo-project\nrollback applied: backend-00001-abc serving 100%" + "x" * 2000
    outcome, _ = _handled(**{label: forged})
    assert "\n" not in outcome.reason and len(outcome.reason) < 3000, outcome.reason[-300:]


def test_many_candidates_are_bounded_and_counted():
    many = [f"projects/demo-project/locations/us-central1/services/s{i}" for i in range(12)]
    said = services_behind("https_lb_rule", SERVERLESS, many)
    assert "s4" in said and "s5," not in said and "and 7 more" in said, said


@pytest.mark.parametrize("kind", ["cloud_run_revision", "gce_instance", "prometheus_target", ""])
def test_other_resources_get_no_load_balancer_words(kind):
    assert load_balancer_said(kind, SERVERLESS) == ""
    assert services_behind(kind, SERVERLESS, [BACKEND]) == ""


def test_labels_missing_are_left_out_not_guessed():
    said = load_balancer_said("https_lb_rule", {})
    assert said.startswith("it counts the load balancer's answers from its backend:")
    assert services_behind("https_lb_rule", {}, [BACKEND]).startswith(f"; the managed service it may be about: {BACKEND}")


def test_the_bundled_scenario_says_what_its_labels_cannot_tell_and_names_backend_as_a_candidate():
    # The scenario format checks status, signature and action only: its reason words are checked here, on its own
    # world and notification, so that the scenario fails on the words it documents, not only on `escalated`.
    name = "bad_revision_load_balancer_5xx_serverless_neg_alert"
    world = FastWorld(seeded_copy(name, None), ANCHOR)
    for api in _READ:
        getattr(world.standins, api).reset_calls()
    document = scenario_model(name).notification(ANCHOR)
    outcome = handle_alert(event(json.dumps(document).encode(), "1"), world.config, world.adapters)
    assert outcome.status is OutcomeStatus.ESCALATED and outcome.action is None
    assert all(not getattr(world.standins, api).calls for api in _READ)
    for said in ["backend 'backend-neg' ('NETWORK_ENDPOINT_GROUP') of backend service 'backend-bs'",
                 "never the Cloud Run service a serverless NEG sends requests to",
                 f"in project 'demo-project', region 'us-central1' it may be about: {BACKEND} (none is certain",
                 "run.googleapis.com/request_count (resource cloud_run_revision"]:
        assert said in outcome.reason, (said, outcome.reason)
