"""An Application Load Balancer's alert (its 5xx or latency at a serverless NEG) is escalated naming the backend it
counted, what its labels cannot say (which Cloud Run service the NEG sends requests to, which revision, whether the 5xx
were the load balancer's own) and how to route it: the managed services in the backend's project and region as
candidates, never acted on (shared/alerts/load_balancer.py). Before, it was escalated as any resource Runwarden does
not read, naming none of that.

The pipeline rows run the documented bad_revision world (backend-00002-xyz failing 60 % since its deploy) on
in-process stand-ins: even there, where a rollback would be right for backend's own alert, nothing is written.

Sources: Cloud Monitoring, "Monitored resource types" (https_lb_rule's labels); Compute Engine API, "REST Resource:
regionNetworkEndpointGroups" (NetworkEndpointGroup.cloudRun: service, tag, urlMask)."""
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
              "backend_type": "SERVERLESS_NETWORK_ENDPOINT_GROUP", "backend_scope": "us-central1",
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
    ("a NEG type not said (UNCONFIRMED value)", "https_lb_rule", {"backend_type": ""}, [BACKEND], ["'api-neg'"]),
    ("a NEG by another type name", "https_lb_rule", {"backend_type": "NETWORK_ENDPOINT_GROUP"}, [BACKEND],
     ["NETWORK_ENDPOINT_GROUP"]),
    ("the internal load balancer's", "internal_http_lb_rule", {}, [BACKEND], ["'api-neg'"]),
    ("the regional external load balancer's", "http_external_regional_lb_rule", {"backend_scope": ""}, [BACKEND],
     ["'api-neg'"]),
    ("a NEG in another region", "https_lb_rule", {"backend_scope": "europe-west1"}, [],
     ["no managed service runs in project demo-project, region europe-west1"]),
    ("a NEG in another project", "https_lb_rule", {"project_id": "web-edge"}, [],
     ["no managed service runs in project web-edge, region us-central1"]),
]


@pytest.mark.parametrize("name, kind, labels, candidates, words", ROWS, ids=[r[0] for r in ROWS])
def test_a_load_balancer_alert_is_escalated_naming_what_it_cannot_tell_and_how_to_route_it(
        name, kind, labels, candidates, words):
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    outcome = handle_alert(event(json.dumps(_lb_alert(kind, **labels)).encode(), "1"), world.config, world.adapters)

    assert outcome.status is OutcomeStatus.ESCALATED, outcome.reason
    assert world.standins.run.count("UpdateService") == 0
    assert outcome.action is None
    for said in words + ["never the Cloud Run service a serverless NEG sends requests to",
                         "run.googleapis.com/request_count (resource cloud_run_revision"]:
        assert said in outcome.reason, (said, outcome.reason)
    assert (BACKEND in outcome.reason) is bool(candidates), outcome.reason
    assert ("none is certain" in outcome.reason) is bool(candidates)


def test_an_instance_group_backend_is_said_to_be_no_cloud_run_service():
    incident = parse_notification(_lb_alert(backend_type="INSTANCE_GROUP", backend_name="web-mig"))
    assert incident.target.kind is TargetKind.UNROUTABLE
    assert "an instance group's VMs, not a Cloud Run service" in incident.target.reason
    assert services_behind(incident.resource_type, incident.resource_labels, [BACKEND]) == ""


@pytest.mark.parametrize("kind", ["cloud_run_revision", "gce_instance", "prometheus_target", ""])
def test_other_resources_get_no_load_balancer_words(kind):
    assert load_balancer_said(kind, SERVERLESS) == ""
    assert services_behind(kind, SERVERLESS, [BACKEND]) == ""


def test_labels_missing_are_left_out_not_guessed():
    said = load_balancer_said("https_lb_rule", {})
    assert said.startswith("it counts the load balancer's answers from its backend:")
    assert services_behind("https_lb_rule", {}, [BACKEND]).startswith(f"; the managed service it may be about: {BACKEND}")
