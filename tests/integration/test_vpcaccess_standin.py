"""The VPC Access stand-in, driven by google-auth's real AuthorizedSession over HTTP."""
from __future__ import annotations

import time
from typing import Any, Iterator

import grpc
import pytest
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession

from sandbox.standins.run import project_number
from sandbox.standins.vpcaccess import CONNECTOR_TYPE, METADATA_TYPE, PATCH_METHOD, PATCH_METHOD_GRPC, VpcAccessStandIn

CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"
MASK = "minInstances,maxInstances"


@pytest.fixture
def standin() -> Iterator[VpcAccessStandIn]:
    server = VpcAccessStandIn(lro_polls_before_done=2)
    server.start()
    server.add_connector(CONNECTOR, min_instances=2, max_instances=3)
    yield server
    server.stop()


@pytest.fixture
def api(standin: VpcAccessStandIn) -> Iterator[Any]:
    """A tiny REST client: api.get(name), api.patch(name, body, mask) -> requests.Response."""
    session = AuthorizedSession(AnonymousCredentials())
    base = f"http://{standin.address}/v1/"

    class Api:
        def get(self, name: str) -> Any:
            return session.get(base + name, timeout=5)

        def patch(self, name: str, body: dict[str, Any], mask: str | None = MASK) -> Any:
            params = {} if mask is None else {"updateMask": mask}
            return session.patch(base + name, params=params, json=body, timeout=5)

    yield Api()
    session.close()


def error_of(response: Any) -> dict[str, Any]:
    return response.json()["error"]


def assert_error(response: Any, http: int, status: str, words: str) -> None:
    error = error_of(response)
    assert (response.status_code, error["code"], error["status"]) == (http, http, status), error
    assert words in error["message"], error["message"]


# --- get ---------------------------------------------------------------------------------------


def test_get_returns_the_connector_in_camel_case(api):
    response = api.get(CONNECTOR)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"name": CONNECTOR, "network": "default", "ipCidrRange": "10.8.0.0/28",
                               "state": "READY", "minInstances": 2, "maxInstances": 3, "machineType": "e2-micro"}


def test_seeded_throughput_is_shown(standin, api):
    other = CONNECTOR.replace("backend-conn", "legacy-conn")
    standin.add_connector(other, min_throughput=200, max_throughput=300)
    body = api.get(other).json()
    assert (body["minThroughput"], body["maxThroughput"]) == (200, 300)


# (the name asked for, found): a project named by the number the stand-ins give it (run.project_number) names the same
# connector (UNCONFIRMED for the real GetConnector; VpcAccess.connector, google/cloud/run/v2/vendor_settings.proto:
# "{project} can be project id or number"); another number, or another connector id, names none.
BY_NUMBER = {
    "by the project's own number": (CONNECTOR.replace("demo-project", str(project_number("demo-project"))), True),
    "by another number": (CONNECTOR.replace("demo-project", "123456789012"), False),
    "by its number, another connector id": (
        CONNECTOR.replace("demo-project", str(project_number("demo-project"))) + "x", False),
}


@pytest.mark.parametrize("name, found", BY_NUMBER.values(), ids=BY_NUMBER.keys())
def test_get_by_the_projects_number_answers_the_connector_as_stored(api, name, found):
    response = api.get(name)
    assert response.status_code == (200 if found else 404), response.text
    if found:
        assert response.json()["name"] == CONNECTOR


def test_unknown_connector_and_operation_are_404(api):
    assert_error(api.get(CONNECTOR + "x"), 404, "NOT_FOUND", "not found")
    assert_error(api.get("projects/demo-project/locations/us-central1/operations/nope"), 404, "NOT_FOUND", "nope")
    assert_error(api.patch(CONNECTOR + "x", {"minInstances": 2, "maxInstances": 4}), 404, "NOT_FOUND",
                 "backend-connx")


def test_unserved_verbs_and_urls(api, standin):
    session = AuthorizedSession(AnonymousCredentials())
    base = f"http://{standin.address}/v1/"
    assert_error(session.delete(base + CONNECTOR, timeout=5), 501, "UNIMPLEMENTED", "DELETE")
    assert_error(session.get(base + "projects/p/elsewhere", timeout=5), 404, "NOT_FOUND", "elsewhere")
    session.close()


# --- patch: the happy path ------------------------------------------------------------------------


def test_patch_returns_an_operation_done_after_n_polls(api, standin):
    response = api.patch(CONNECTOR, {"minInstances": 2, "maxInstances": 5})
    assert response.status_code == 200
    operation = response.json()
    assert operation["name"].startswith("projects/demo-project/locations/us-central1/operations/")
    assert "done" not in operation     # false: proto3 JSON leaves a default value out
    metadata = operation["metadata"]
    assert metadata["@type"] == METADATA_TYPE and metadata["method"] == PATCH_METHOD
    assert metadata["target"] == CONNECTOR and metadata["createTime"].endswith("Z")
    assert standin.connector(CONNECTOR)["state"] == "UPDATING"
    assert api.get(CONNECTOR).json()["maxInstances"] == 3  # not applied until the operation ends

    polls = [api.get(operation["name"]).json() for _ in range(3)]
    assert [p.get("done", False) for p in polls] == [False, False, True]
    final = polls[-1]
    assert final["response"]["@type"] == CONNECTOR_TYPE
    assert (final["response"]["maxInstances"], final["response"]["state"]) == (5, "READY")
    assert "endTime" in final["metadata"] and "error" not in final
    assert api.get(CONNECTOR).json()["maxInstances"] == 5
    assert standin.count("PatchConnector") == 1 and standin.count("GetOperation") == 3
    patch = standin.requests("PatchConnector")[0]
    assert (patch.verb, patch.update_mask, patch.body) == ("PATCH", MASK, {"minInstances": 2, "maxInstances": 5})


@pytest.mark.parametrize("fails", [False, True])
def test_an_updating_connector_may_show_its_new_values_at_once(api, standin, fails):
    """The other reading of what an UPDATING connector's GET shows (`updating_shows_new_values`): the running
    update's values at once; a failed update puts them back as they were."""
    standin.updating_shows_new_values = True
    if fails:
        standin.fail_next_operation()
    operation = api.patch(CONNECTOR, {"minInstances": 2, "maxInstances": 5}).json()
    shown = api.get(CONNECTOR).json()
    assert (shown["state"], shown["maxInstances"]) == ("UPDATING", 5)
    while not api.get(operation["name"]).json().get("done"):
        pass
    ended = api.get(CONNECTOR).json()
    assert (ended["state"], ended["maxInstances"]) == ("READY", 3 if fails else 5)


def test_machine_type_change_and_snake_case_mask(api, standin):
    body = {"minInstances": 3, "maxInstances": 4, "machineType": "e2-standard-4"}
    operation = api.patch(CONNECTOR, body, mask="min_instances,max_instances,machine_type").json()
    for _ in range(3):
        api.get(operation["name"])
    stored = standin.connector(CONNECTOR)
    assert (stored["minInstances"], stored["maxInstances"], stored["machineType"]) == (3, 4, "e2-standard-4")


def test_machine_type_alone_is_allowed(api, standin):
    assert api.patch(CONNECTOR, {"machineType": "f1-micro"}, mask="machineType").status_code == 200


def test_empty_mask_updates_the_modifiable_fields_present(api, standin):
    echoed = {**api.get(CONNECTOR).json(), "maxInstances": 6}  # a GET sent back, one value raised
    operation = api.patch(CONNECTOR, echoed, mask=None).json()
    for _ in range(3):
        api.get(operation["name"])
    assert standin.connector(CONNECTOR)["maxInstances"] == 6


def test_zero_polls_finishes_at_the_first_get(standin, api):
    standin.lro_polls_before_done = 0
    operation = api.patch(CONNECTOR, {"minInstances": 2, "maxInstances": 4}).json()
    assert "done" not in operation  # a patch always answers with a running operation (done false, left out)
    assert api.get(operation["name"]).json()["done"] is True


# --- patch: every rule ------------------------------------------------------------------------------


@pytest.mark.parametrize("body, mask, words", [
    ({"minInstances": 3}, "minInstances", "maxInstances must be updated together with minInstances"),
    ({"maxInstances": 5}, "maxInstances", "minInstances must be updated together with maxInstances"),
    ({"minInstances": 2, "maxInstances": 11}, MASK, "maxInstances must be between 3 and 10, got 11"),
    ({"minInstances": 1, "maxInstances": 5}, MASK, "minInstances must be between 2 and 9, got 1"),
    ({"minInstances": 5, "maxInstances": 5}, MASK, "must be lower than"),
    ({"minInstances": 2, "maxInstances": 2}, MASK, "maxInstances must be between 3 and 10, got 2"),
    ({"machineType": "n1-standard-1"}, "machineType", "'n1-standard-1' is not supported"),
    ({"minThroughput": 300}, "minThroughput", "'minThroughput' cannot be updated"),
    ({"minInstances": 2, "maxInstances": 4, "maxThroughput": 500}, "minInstances,maxInstances,maxThroughput",
     "throughput is not updatable"),
    ({"minInstances": 2, "maxInstances": 4}, "minInstances,maxInstances,sizeOfThings", "unknown field 'sizeOfThings'"),
    ({"minInstances": 2, "maxInstances": 4}, "minInstances,maxInstances,state", "output only"),
    ({"minInstances": 2}, MASK, "maxInstances must be between 3 and 10, got 0"),  # masked but absent = cleared
    ({"minInstances": "two", "maxInstances": 4}, MASK, "TYPE_INT32"),
    ({"minInstances": 2, "maxInstances": 4, "colour": "red"}, MASK, 'Unknown name "colour"'),
    ({"name": "projects/x/locations/y/connectors/z", "minInstances": 2, "maxInstances": 4}, MASK, "does not match"),
    ({"maxThroughput": 900, "maxInstances": 4, "minInstances": 2}, None, "throughput is not updatable"),
    ({"state": "READY"}, None, "nothing to update"),
])
def test_invalid_patches_are_400(api, standin, body, mask, words):
    assert_error(api.patch(CONNECTOR, body, mask), 400, "INVALID_ARGUMENT", words)
    assert standin.connector(CONNECTOR)["state"] == "READY"  # nothing started


def test_lowering_is_refused(api, standin):
    standin.add_connector(CONNECTOR.replace("backend", "big"), min_instances=4, max_instances=8)
    big = CONNECTOR.replace("backend", "big")
    assert_error(api.patch(big, {"minInstances": 4, "maxInstances": 7}), 400, "INVALID_ARGUMENT",
                 "maxInstances can only be increased: requested 7, currently 8")
    assert_error(api.patch(big, {"minInstances": 3, "maxInstances": 9}), 400, "INVALID_ARGUMENT",
                 "minInstances can only be increased: requested 3, currently 4")


def test_patch_while_updating_is_409_aborted(api, standin):
    api.patch(CONNECTOR, {"minInstances": 2, "maxInstances": 4})
    assert_error(api.patch(CONNECTOR, {"minInstances": 2, "maxInstances": 5}), 409, "ABORTED", "being updated")


def test_patch_in_a_non_ready_state_is_failed_precondition(api, standin):
    standin.set_state(CONNECTOR, "ERROR")
    assert_error(api.patch(CONNECTOR, {"minInstances": 2, "maxInstances": 4}), 400, "FAILED_PRECONDITION",
                 "state ERROR")


def test_body_that_is_not_json(api, standin):
    session = AuthorizedSession(AnonymousCredentials())
    response = session.patch(f"http://{standin.address}/v1/{CONNECTOR}", params={"updateMask": MASK},
                             data=b"{not json", headers={"Content-Type": "application/json"}, timeout=5)
    assert_error(response, 400, "INVALID_ARGUMENT", "Invalid JSON payload")
    session.close()


# --- faults ------------------------------------------------------------------------------------------


def test_fail_next_with_an_http_status_then_recovers(api, standin):
    standin.faults.fail_next(1, 503, method="GetConnector")
    assert_error(api.get(CONNECTOR), 503, "UNAVAILABLE", "injected UNAVAILABLE")
    assert api.get(CONNECTOR).status_code == 200
    assert standin.count("GetConnector") == 2


def test_fail_next_with_a_grpc_code_and_only_for_its_method(api, standin):
    standin.faults.fail_next(2, grpc.StatusCode.RESOURCE_EXHAUSTED, method="PatchConnector")
    assert api.get(CONNECTOR).status_code == 200
    assert_error(api.patch(CONNECTOR, {"minInstances": 2, "maxInstances": 4}), 429, "RESOURCE_EXHAUSTED", "injected")
    assert api.patch(CONNECTOR, {"minInstances": 2, "maxInstances": 4}).status_code == 429
    assert api.patch(CONNECTOR, {"minInstances": 2, "maxInstances": 4}).status_code == 200


def test_unmappable_http_status_is_refused(standin):
    with pytest.raises(ValueError, match="cannot inject HTTP 418"):
        standin.faults.fail_next(1, 418)


def test_deny_is_403_permission_denied_naming_the_permission(api, standin):
    standin.faults.deny("PatchConnector")
    assert api.get(CONNECTOR).status_code == 200
    assert_error(api.patch(CONNECTOR, {"minInstances": 2, "maxInstances": 4}), 403, "PERMISSION_DENIED",
                 "Permission 'vpcaccess.connectors.update' denied")
    standin.faults.clear()
    assert api.patch(CONNECTOR, {"minInstances": 2, "maxInstances": 4}).status_code == 200


def test_latency(api, standin):
    standin.faults.add_latency(0.3, method="GetConnector")
    started = time.monotonic()
    assert api.get(CONNECTOR).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_failed_operation_reports_an_error_and_leaves_the_connector(api, standin):
    standin.fail_next_operation(grpc.StatusCode.FAILED_PRECONDITION, "subnet exhausted")
    operation = api.patch(CONNECTOR, {"minInstances": 2, "maxInstances": 5}).json()
    final = [api.get(operation["name"]).json() for _ in range(3)][-1]
    assert final["done"] is True and "response" not in final
    assert final["error"] == {"code": 9, "message": "subnet exhausted"}
    assert standin.connector(CONNECTOR)["maxInstances"] == 3
    assert standin.connector(CONNECTOR)["state"] == "READY"


@pytest.mark.parametrize("leaves, state, max_instances", [("changes", "READY", 5), ("error", "ERROR", 3)])
def test_a_failed_operation_may_leave_the_connector_changed_or_broken(api, standin, leaves, state, max_instances):
    """The other readings of what a failed update leaves (`failed_update_leaves`: not documented): the update's
    values, or the connector as it was in state ERROR. The operation reports its error either way."""
    standin.failed_update_leaves = leaves
    standin.fail_next_operation(grpc.StatusCode.FAILED_PRECONDITION, "subnet exhausted")
    operation = api.patch(CONNECTOR, {"minInstances": 2, "maxInstances": 5}).json()
    final = [api.get(operation["name"]).json() for _ in range(3)][-1]
    assert final["done"] is True and final["error"] == {"code": 9, "message": "subnet exhausted"}
    ended = api.get(CONNECTOR).json()
    assert (ended["state"], ended["maxInstances"]) == (state, max_instances)


# --- seeding -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, words", [
    ({"machine_type": "n2-standard-2"}, "not supported"),
    ({"min_instances": 5, "max_instances": 4}, "must be lower than"),
    ({"max_instances": 11}, "between 3 and 10"),
    ({"state": "SLEEPING"}, "state must be one of"),
])
def test_seeding_refuses_what_the_api_could_not_hold(standin, kwargs, words):
    with pytest.raises(ValueError, match=words):
        standin.add_connector(CONNECTOR.replace("backend", "other"), **kwargs)


def test_seeding_checks_the_name_and_duplicates(standin):
    with pytest.raises(ValueError, match="connectors/C"):
        standin.add_connector("backend-conn")
    with pytest.raises(ValueError, match="already exists"):
        standin.add_connector(CONNECTOR)


# --- audit entries (audit_into) -----------------------------------------------------------------------


@pytest.mark.parametrize("method", [PATCH_METHOD, PATCH_METHOD_GRPC])
def test_an_accepted_patch_writes_its_admin_activity_entries_that_the_audit_query_finds(standins, standin_env,
                                                                                         method):
    """Through the real clients: the adapter's PATCH, then the product's own audit query through
    the real Logging client. The operation's two entries (first: the caller and the request; last:
    the status) merge into one change by the caller; a refused PATCH writes none."""
    from datetime import datetime, timedelta, timezone

    from shared.diagnosis.log_signals import audit_filter
    from shared.errors import PermanentError
    from shared.gcp.logging import CloudLoggingAdapter, merge_operation_entries
    from shared.gcp.vpcaccess import VpcAccessAdapter

    at = datetime(2026, 11, 26, 12, 2, tzinfo=timezone.utc)
    standins.vpcaccess.lro_polls_before_done = 0
    standins.vpcaccess.add_connector(CONNECTOR, min_instances=2, max_instances=3)
    standins.vpcaccess.audit_into(standins.logging, "runwarden@demo-project.iam.gserviceaccount.com",
                                  clock=lambda: at, method=method)
    adapter = VpcAccessAdapter(poll_initial_delay=0.01, poll_max_delay=0.02)
    adapter.update_connector(CONNECTOR, min_instances=2, max_instances=5)
    with pytest.raises(PermanentError):
        adapter.update_connector(CONNECTOR, min_instances=2, max_instances=4)   # lowering: refused, 400

    query = audit_filter("demo-project", "backend", "us-central1", at - timedelta(minutes=30),
                         at + timedelta(minutes=1), connector=CONNECTOR)
    read = CloudLoggingAdapter().list_entries("demo-project", query, 100)
    [change] = merge_operation_entries(read).entries

    assert len(read.entries) == 2
    assert (change.method_name, change.resource_name, change.principal, change.status_code) == (
        method, CONNECTOR, "runwarden@demo-project.iam.gserviceaccount.com", 0)
    assert change.timestamp == at
