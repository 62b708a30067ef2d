"""Monitoring notifications -> Incident, through every envelope they arrive in.

The only I/O is reading tests/fixtures/samples (copies of real and documented payloads).
"""
from __future__ import annotations

import ast
import base64
import copy
import inspect
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pydantic
import pytest

import shared.alerts.incidents
from shared.alerts.incidents import (
    MAX_NOTIFICATION_BYTES,
    Documentation,
    Incident,
    IncidentParseError,
    IncidentState,
    decode_message_published,
    load_any,
    parse_message_published,
    parse_notification,
)

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"

DOC_EXAMPLE = "monitoring_docs_example_closed_gce__via_goalert.json"
PUBSUB_CLOSED = "monitoring_pubsub_threshold_closed_gce__flanksource.json"
PUBSUB_OPEN = "monitoring_pubsub_threshold_open_gce__flanksource.json"
LOG_MATCH = "monitoring_webhook_logmatch_open_k8s__hughbrien.json"
NOTIFICATIONS = [DOC_EXAMPLE, PUBSUB_CLOSED, PUBSUB_OPEN, LOG_MATCH]

CE_TEXT = "cloudevent_pubsub_messagePublished_data__googleapis_cloudevents_text.json"
CE_DUPLICATED = "cloudevent_pubsub_messagePublished_data__googleapis_cloudevents_duplicatedFields.json"
CLOUDEVENT_DATA = [CE_TEXT, CE_DUPLICATED]

CANCELLED = "Incident cancelled because the alert policy condition was deleted or modified while incident was active."


def raw(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def doc(name: str) -> dict[str, Any]:
    return json.loads(raw(name))


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


# --- Every sample, as it is ----------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    incident_id: str
    state: IncidentState
    started_at: int
    ended_at: int | None
    observed: str | None
    threshold: str | None
    metric_type: str
    resource_type: str
    project_id: str
    condition_kind: str


EXPECTED = {
    DOC_EXAMPLE: Expected("0.opqiw61fsv7p", IncidentState.CLOSED, 1577840461, 1577877071, "0.835", "0.9",
                          "compute.googleapis.com/instance/cpu/utilization", "gce_instance", "internal-project",
                          "threshold"),
    PUBSUB_CLOSED: Expected("0.nrwo9fe1a4wg", IncidentState.CLOSED, 1746177319, 1746178747, CANCELLED, "2000",
                            "compute.googleapis.com/instance/network/sent_packets_count", "gce_instance",
                            "flanksource-sandbox", "threshold"),
    PUBSUB_OPEN: Expected("0.nrwotmyokd9n", IncidentState.OPEN, 1746178794, None, "7679.000", "2001",
                          "compute.googleapis.com/instance/network/sent_packets_count", "gce_instance",
                          "flanksource-sandbox", "threshold"),
    LOG_MATCH: Expected("0.mybdstmr76pg", IncidentState.OPEN, 1686076691, None, None, None,
                        "", "k8s_container", "hpb-bank-of-anthos", "log_match"),
}


@pytest.mark.parametrize("name", NOTIFICATIONS)
def test_sample_parses(name: str) -> None:
    want = EXPECTED[name]
    got = parse_notification(raw(name))
    assert (got.incident_id, got.state, got.started_at, got.ended_at) == (
        want.incident_id, want.state, want.started_at, want.ended_at)
    assert (got.observed_value, got.threshold_value) == (want.observed, want.threshold)
    assert (got.metric_type, got.resource_type) == (want.metric_type, want.resource_type)
    assert got.resource_labels["project_id"] == want.project_id
    assert got.condition_kind == want.condition_kind
    assert got.version == "1.2"
    assert got.is_open is (want.state is IncidentState.OPEN)
    assert not got.is_test
    assert got.cloud_run_service is None  # no sample is a Cloud Run alert


@pytest.mark.parametrize("name", NOTIFICATIONS)
def test_bytes_str_and_dict_give_the_same_incident(name: str) -> None:
    from_bytes = parse_notification(raw(name))
    assert parse_notification(raw(name).decode()) == from_bytes
    assert parse_notification(doc(name)) == from_bytes


def test_doc_example_keeps_every_documented_field() -> None:
    incident = parse_notification(raw(DOC_EXAMPLE))
    assert incident.policy_name == "Monitor-Project-Cluster"
    assert incident.policy_user_labels == {"user-label-1": "important label", "user-label-2": "another label"}
    assert incident.condition_name == "VM Instance - CPU utilization [MAX]"
    assert incident.condition_filter.startswith('metric.type="compute.googleapis.com/instance/cpu/utilization"')
    assert incident.metric_display_name == "CPU utilization"
    assert incident.metric_labels == {"instance_name": "the name of the VM instance"}
    assert incident.resource_labels == {"instance_id": "11223344", "project_id": "internal-project",
                                        "zone": "us-central1-c"}
    assert incident.severity == "no severity"
    assert incident.scoping_project_id == "internal-project"
    assert incident.url.endswith("?project=internal-project")
    assert incident.summary.endswith("returned to normal with a value of 0.835.")
    assert incident.documentation is not None
    assert incident.documentation.mime_type == "text/markdown"
    assert incident.documentation.subject == "ALERT - No severity"
    assert [(link.display_name, link.url) for link in incident.documentation.links] == [
        ("Playbook", "https://myownpersonaldomain.com/playbook?name=${resource.name}")]


def test_log_match_sample_is_recognised() -> None:
    incident = parse_notification(raw(LOG_MATCH))
    assert incident.is_log_match
    assert incident.condition_kind == "log_match"
    assert incident.condition_filter == '"GET /version HTTP/1.1"'
    assert incident.ended_at is None  # the sample says "null", as a string
    assert incident.observed_value is None and incident.threshold_value is None
    assert incident.documentation == Documentation(content="Get Version Alert", mime_type="text/markdown")


@pytest.mark.parametrize("name", [DOC_EXAMPLE, PUBSUB_CLOSED, PUBSUB_OPEN])
def test_metric_alerts_are_not_log_match(name: str) -> None:
    assert not parse_notification(raw(name)).is_log_match


def test_cancelled_incident_keeps_its_prose_observed_value() -> None:
    incident = parse_notification(raw(PUBSUB_CLOSED))
    assert not incident.is_open
    assert incident.observed_value == CANCELLED
    assert incident.ended_at == 1746178747


# The console's "send test notification" payload, abridged from the shape published in
# cloudforet-io/tsc#8: version "test", uppercase state, zero timestamps, documentation a string.
TEST_NOTIFICATION = {
    "version": "test",
    "incident": {
        "incident_id": "12345", "scoping_project_id": "12345", "scoping_project_number": 12345,
        "url": "http://www.example.com", "started_at": 0, "ended_at": 0, "state": "OPEN",
        "summary": "Test Incident", "apigee_url": "http://www.example.com", "observed_value": "1.0",
        "resource": {"type": "example_resource", "labels": {"example": "label"}},
        "metric": {"type": "test.googleapis.com/metric", "displayName": "Test Metric", "labels": {"example": "label"}},
        "policy_name": "projects/12345/alertPolicies/12345", "policy_user_labels": {"example": "label"},
        "documentation": "Test documentation",
        "condition": {"name": "projects/12345/alertPolicies/12345/conditions/12345", "displayName": "Example condition",
                      "conditionThreshold": {"filter": "metric.type=\"test.googleapis.com/metric\"",
                                             "comparison": "COMPARISON_GT", "thresholdValue": 0.5}},
        "condition_name": "Example condition", "threshold_value": "0.5",
    },
}


def test_test_notification_is_recognised() -> None:
    incident = parse_notification(TEST_NOTIFICATION)
    assert incident.is_test
    assert incident.is_open and incident.state is IncidentState.OPEN
    assert (incident.started_at, incident.ended_at) == (0, 0)
    assert incident.documentation == Documentation(content="Test documentation")
    assert incident.condition_kind == "threshold"


@pytest.mark.parametrize("state, expected", [
    ("open", IncidentState.OPEN), ("OPEN", IncidentState.OPEN), ("Closed", IncidentState.CLOSED),
    ("CLOSED", IncidentState.CLOSED),
])
def test_state_is_case_insensitive(state: str, expected: IncidentState) -> None:
    assert notification_with(state=state).state is expected


# --- Envelopes: CloudEvent data, push body, structured CloudEvent ------------------------------


def message_published(notification: bytes, fixture: str) -> dict[str, Any]:
    """An official MessagePublishedData fixture with the notification as its data."""
    envelope = doc(fixture)
    envelope["message"]["data"] = b64(notification)
    return envelope


def push_body(notification: bytes) -> dict[str, Any]:
    """What the Pub/Sub emulator POSTs to a push endpoint (both camelCase and snake_case keys, no deliveryAttempt)."""
    return {
        "subscription": "projects/p/subscriptions/alerts-push",
        "message": {"data": b64(notification), "attributes": {}, "messageId": "1", "message_id": "1",
                    "publishTime": "2026-01-01T00:00:00Z", "publish_time": "2026-01-01T00:00:00Z"},
    }


def structured_cloud_event(notification: bytes) -> dict[str, Any]:
    return {
        "specversion": "1.0", "id": "1", "source": "//pubsub.googleapis.com/projects/p/topics/alerts",
        "type": "google.cloud.pubsub.topic.v1.messagePublished", "datacontenttype": "application/json",
        "data": message_published(notification, CE_TEXT),
    }


@pytest.mark.parametrize("fixture", CLOUDEVENT_DATA)
@pytest.mark.parametrize("name", NOTIFICATIONS)
def test_sample_in_cloud_event_data(name: str, fixture: str) -> None:
    message, incident = parse_message_published(message_published(raw(name), fixture))
    assert incident == parse_notification(raw(name))
    assert message.message_id == "message-id"
    assert message.publish_time is not None and message.publish_time.isoformat().startswith("2021-02-05T04:06:14.109")
    assert message.data == raw(name)


def test_message_attributes_are_kept() -> None:
    message, _ = parse_message_published(message_published(raw(PUBSUB_OPEN), CE_TEXT))
    assert message.attributes == {"attr1": "attr1-value"}


@pytest.mark.parametrize("fixture, data", [(CE_TEXT, b"test message 3"), (CE_DUPLICATED, b"\x01\x02\x03\x04")])
def test_official_fixtures_decode_as_they_are(fixture: str, data: bytes) -> None:
    message = decode_message_published(doc(fixture))
    assert (message.message_id, message.data) == ("message-id", data)


def binary_data_cloud_event(notification: bytes) -> dict[str, Any]:
    """A structured CloudEvent whose data travels as data_base64."""
    event = structured_cloud_event(notification)
    return {**event, "data": None, "data_base64": b64(json.dumps(event["data"]))}


@pytest.mark.parametrize("wrap", [push_body, structured_cloud_event, binary_data_cloud_event, json.loads],
                         ids=["push_body", "cloud_event", "cloud_event_data_base64", "bare"])
@pytest.mark.parametrize("name", NOTIFICATIONS)
def test_load_any_unwraps_every_envelope(name: str, wrap: Callable[[bytes], dict[str, Any]]) -> None:
    text = json.dumps(wrap(raw(name)))
    assert load_any(text) == load_any(text.encode()) == parse_notification(raw(name))


def test_snake_case_message_keys_are_read() -> None:
    message = decode_message_published({"message": {
        "data": b64("{}"), "message_id": "42", "publish_time": "2026-01-01T00:00:00Z", "ordering_key": "svc"}})
    assert (message.message_id, message.ordering_key, message.publish_time.year) == ("42", "svc", 2026)


def test_subscription_is_optional() -> None:
    envelope = message_published(raw(PUBSUB_OPEN), CE_TEXT)
    del envelope["subscription"]
    assert parse_message_published(envelope)[1].incident_id == "0.nrwotmyokd9n"


# --- Key spelling: camelCase only, snake_case only ---------------------------------------------

LABEL_MAPS = {"labels", "policy_user_labels", "system_labels", "user_labels", "attributes"}


def to_camel(key: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)


def to_snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), key)


def recase(value: Any, convert: Callable[[str], str]) -> Any:
    """Every key respelled, except the keys of label maps: those are data, not schema."""
    if isinstance(value, list):
        return [recase(v, convert) for v in value]
    if not isinstance(value, dict):
        return value
    return {convert(k): (v if to_snake(k) in LABEL_MAPS else recase(v, convert)) for k, v in value.items()}


@pytest.mark.parametrize("convert", [to_camel, to_snake], ids=["camelCase", "snake_case"])
@pytest.mark.parametrize("name", NOTIFICATIONS + ["test"])
def test_key_spelling_does_not_matter(name: str, convert: Callable[[str], str]) -> None:
    original = TEST_NOTIFICATION if name == "test" else doc(name)
    respelled = recase(original, convert)
    assert respelled != original or convert is to_snake  # the variant really differs
    assert parse_notification(respelled) == parse_notification(original)


def test_camel_case_variant_really_is_camel_case() -> None:
    incident = recase(doc(DOC_EXAMPLE), to_camel)["incident"]
    assert {"incidentId", "startedAt", "endedAt", "policyUserLabels", "observedValue", "scopingProjectId"} <= set(incident)
    assert incident["documentation"]["mimeType"] == "text/markdown"
    assert "user-label-1" in incident["policyUserLabels"]  # label keys left alone


# --- Optional fields: every one may be missing ---------------------------------------------

REQUIRED = {("incident",), ("incident", "incident_id"), ("incident", "state"), ("incident", "started_at")}


def key_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in the document, not descending into label maps."""
    paths = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        path = (*prefix, key)
        if isinstance(key, str):
            paths.append(path)
        if key not in LABEL_MAPS:
            paths.extend(key_paths(child, path))
    return paths


def without(document: dict[str, Any], path: tuple) -> dict[str, Any]:
    stripped = copy.deepcopy(document)
    parent = stripped
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return stripped


OPTIONAL_PATHS = [p for p in key_paths(doc(DOC_EXAMPLE)) if p not in REQUIRED]

# What the incident says once that key is gone.
DEFAULT_WHEN_MISSING: dict[tuple, tuple[str, Any]] = {
    ("version",): ("version", ""),
    ("incident", "ended_at"): ("ended_at", None),
    ("incident", "observed_value"): ("observed_value", None),
    ("incident", "threshold_value"): ("threshold_value", None),
    ("incident", "severity"): ("severity", ""),
    ("incident", "summary"): ("summary", ""),
    ("incident", "url"): ("url", ""),
    ("incident", "scoping_project_id"): ("scoping_project_id", ""),
    ("incident", "policy_name"): ("policy_name", ""),
    ("incident", "policy_user_labels"): ("policy_user_labels", {}),
    ("incident", "documentation"): ("documentation", None),
    ("incident", "metric"): ("metric_type", ""),
    ("incident", "metric", "type"): ("metric_type", ""),
    ("incident", "metric", "displayName"): ("metric_display_name", ""),
    ("incident", "metric", "labels"): ("metric_labels", {}),
    ("incident", "resource"): ("resource_type", ""),
    ("incident", "resource", "type"): ("resource_type", ""),
    ("incident", "resource", "labels"): ("resource_labels", {}),
    ("incident", "condition"): ("condition_kind", ""),
    ("incident", "condition", "conditionThreshold"): ("condition_kind", ""),
    ("incident", "condition", "conditionThreshold", "filter"): ("condition_filter", ""),
}


@pytest.mark.parametrize("path", OPTIONAL_PATHS, ids=lambda p: ".".join(map(str, p)))
def test_any_optional_field_may_be_missing(path: tuple) -> None:
    incident = parse_notification(without(doc(DOC_EXAMPLE), path))
    assert incident.incident_id == "0.opqiw61fsv7p"
    if path in DEFAULT_WHEN_MISSING:
        field, default = DEFAULT_WHEN_MISSING[path]
        assert getattr(incident, field) == default


def test_every_default_above_is_a_real_path() -> None:
    assert set(DEFAULT_WHEN_MISSING) <= set(OPTIONAL_PATHS)


def test_notification_with_only_required_fields() -> None:
    incident = parse_notification({"incident": {"incident_id": "0.x", "state": "open", "started_at": 1}})
    assert incident == Incident(incident_id="0.x", state=IncidentState.OPEN, started_at=1)
    assert incident.is_log_match  # no metric at all: treated like a log-match alert


@pytest.mark.parametrize("ended_at", [None, "null", "NULL", ""])
def test_ended_at_placeholders_mean_not_ended(ended_at: Any) -> None:
    assert notification_with(ended_at=ended_at).ended_at is None


@pytest.mark.parametrize("ended_at", [0, "0", 0.0])
def test_an_open_incidents_zero_end_is_no_end(ended_at: Any) -> None:
    """0 is an integer's unset value (proto3 JSON with defaults emitted, a relay's Go int64), and no end
    of a schema-1.2 incident: the OPEN is read, not rejected as open and ended at once."""
    incident = parse_notification(minimal(ended_at=ended_at))
    assert incident.is_open and incident.ended_at is None


def test_a_closed_incidents_zero_end_is_kept_and_shows_no_recovery() -> None:
    closed = minimal(state="closed", ended_at=0, observed_value="0.001", threshold_value="0.05",
                     condition={"conditionThreshold": {"comparison": "COMPARISON_GT", "thresholdValue": 0.05}})
    incident = parse_notification(closed)
    assert incident.ended_at == 0 and incident.recovery_shown == "" and "before it started" in incident.recovery_doubt


@pytest.mark.parametrize("started_at, expected", [(1746178794, 1746178794), ("1746178794", 1746178794),
                                                  (1746178794.0, 1746178794),
                                                  # The number as a string is read as the number is: a relay
                                                  # that quotes every value quotes 1746178794.0 too.
                                                  ("1746178794.0", 1746178794), (" 1746178794.000 ", 1746178794),
                                                  ("1577840461.00", 1577840461)])
def test_started_at_accepts_integers_and_numeric_strings(started_at: Any, expected: int) -> None:
    assert notification_with(started_at=started_at).started_at == expected


@pytest.mark.parametrize("ended_at, expected", [("1746178854.0", 1746178854), ("1746178854", 1746178854),
                                                (1746178854.0, 1746178854)])
def test_ended_at_reads_the_number_as_a_string_as_the_number(ended_at: Any, expected: int) -> None:
    incident = parse_notification(minimal(state="closed", ended_at=ended_at))
    assert incident.ended_at == expected


# A string that is no whole number of seconds is refused as the number it spells would be, saying to send
# the number: a fraction of a second, an exponent, a time of day, milliseconds.
@pytest.mark.parametrize("field, value, said", [
    ("started_at", "1746178794.5", "expected epoch seconds (an integer), got '1746178794.5': send"),
    ("started_at", "1.746178794e9", "expected epoch seconds (an integer), got '1.746178794e9': send"),
    ("started_at", "2026-01-01T00:00:00Z", "got '2026-01-01T00:00:00Z': send"),
    ("ended_at", "1746178854.25", "got '1746178854.25': send"),
    ("started_at", "1746178794123.0", "got 1746178794123 (epoch milliseconds?)"),
    ("started_at", 1746178794.5, "expected epoch seconds (an integer), got 1746178794.5: send whole seconds, such "
                                 "as 1746178794"),
])
def test_a_time_that_is_no_whole_number_of_seconds_says_to_send_the_number(field: str, value: Any, said: str) -> None:
    with pytest.raises(IncidentParseError) as caught:
        parse_notification(minimal(**{"state": "closed" if field == "ended_at" else "open", field: value}))
    assert caught.value.field == f"incident.{field}" and said in caught.value.reason, caught.value.reason
    if said.endswith("send"):
        assert "as a JSON number of seconds since 1970, such as 1746178794" in caught.value.reason, \
            caught.value.reason


def test_numbers_become_strings() -> None:
    incident = notification_with(observed_value=7679, threshold_value=0.5,
                                 resource={"type": "t", "labels": {"port": 8080, "ok": True}})
    assert (incident.observed_value, incident.threshold_value) == ("7679", "0.5")
    assert incident.resource_labels == {"port": "8080", "ok": "true"}


def test_condition_name_falls_back_to_the_condition_display_name() -> None:
    assert without(doc(DOC_EXAMPLE), ("incident", "condition_name")) != doc(DOC_EXAMPLE)
    incident = parse_notification(without(doc(DOC_EXAMPLE), ("incident", "condition_name")))
    assert incident.condition_name == "VM Instance - CPU utilization [MAX]"


@pytest.mark.parametrize("condition, kind, filter_", [
    ({"conditionThreshold": {"filter": "f1"}}, "threshold", "f1"),
    ({"conditionAbsent": {"filter": "f2"}}, "absent", "f2"),
    ({"conditionMatchedLog": {"filter": "f3"}}, "log_match", "f3"),
    ({"conditionPrometheusQueryLanguage": {"query": "up == 0"}}, "other", "up == 0"),
    ({"conditionMonitoringQueryLanguage": {"query": "fetch x"}}, "other", "fetch x"),
    ({"displayName": "no body"}, "", ""),
])
def test_condition_kinds(condition: dict[str, Any], kind: str, filter_: str) -> None:
    incident = notification_with(condition=condition)
    assert (incident.condition_kind, incident.condition_filter) == (kind, filter_)


@pytest.mark.parametrize("condition, forecast", [
    ({"conditionThreshold": {"filter": "f", "forecastOptions": {"forecastHorizon": "3600s"}}}, True),
    ({"condition_threshold": {"filter": "f", "forecast_options": {}}}, True),   # present, however empty
    ({"conditionThreshold": {"filter": "f"}}, False),
    ({"conditionAbsent": {"filter": "f", "duration": "300s"}}, False),
])
def test_a_forecast_condition_is_known_as_one(condition: dict[str, Any], forecast: bool) -> None:
    """MetricThreshold.forecast_options present: the condition is about a predicted crossing, not a
    current one (google-cloud-monitoring types/alert.py); shared/diagnosis/health_bar.py reads it."""
    assert notification_with(condition=condition).forecast is forecast


@pytest.mark.parametrize("condition, aligner, reducer", [
    ({"conditionThreshold": {"filter": "f", "aggregations": [
        {"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_MEAN", "crossSeriesReducer": "REDUCE_MAX",
         "groupByFields": ["resource.label.service_name"]}]}}, "ALIGN_MEAN", "REDUCE_MAX"),
    ({"condition_threshold": {"filter": "f", "aggregations": [{"per_series_aligner": "ALIGN_PERCENTILE_95"}]}},
     "ALIGN_PERCENTILE_95", ""),
    ({"conditionThreshold": {"filter": "f"}}, "", ""),
])
def test_the_conditions_aggregation_is_read(condition: dict[str, Any], aligner: str, reducer: str) -> None:
    """MetricThreshold.aggregations (the documented 1.2 sample carries perSeriesAligner ALIGN_MIN):
    a latency policy's value is a percentile or a mean by it (shared/diagnosis/health_bar.py)."""
    incident = notification_with(condition=condition)
    assert (incident.aligner, incident.reducer) == (aligner, reducer)


def test_the_documented_sample_names_its_aligner() -> None:
    assert parse_notification(raw(PUBSUB_OPEN)).aligner == "ALIGN_MIN"


def test_unknown_keys_are_ignored() -> None:
    extra = doc(PUBSUB_OPEN)
    extra["delivered_by"] = "someone"
    extra["incident"]["new_field_2027"] = {"nested": [1, 2]}
    extra["incident"]["resource"]["extra"] = True
    assert parse_notification(extra) == parse_notification(raw(PUBSUB_OPEN))


def test_parsed_incident_round_trips_through_its_own_dump() -> None:
    incident = parse_notification(raw(DOC_EXAMPLE))
    assert Incident.model_validate(incident.model_dump(mode="json")) == incident


def test_incident_is_immutable() -> None:
    incident = parse_notification(raw(PUBSUB_OPEN))
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        incident.state = IncidentState.CLOSED  # type: ignore[misc]


# --- Cloud Run ---------------------------------------------------------------------------


def notification_with(**incident_fields: Any) -> Incident:
    """The open Pub/Sub sample with some incident fields replaced."""
    document = doc(PUBSUB_OPEN)
    document["incident"].update(incident_fields)
    return parse_notification(document)


RUN_LABELS = {"project_id": "shop-prod", "location": "europe-west1", "service_name": "checkout",
              "revision_name": "checkout-00042-abc", "configuration_name": "checkout"}


@pytest.mark.parametrize("resource_type, drop, expected", [
    ("cloud_run_revision", None, "projects/shop-prod/locations/europe-west1/services/checkout"),
    # Never the scoping project (flanksource-sandbox): a policy sees every project of its metrics scope.
    ("cloud_run_revision", "project_id", None),
    ("cloud_run_revision", "service_name", None),
    ("cloud_run_revision", "location", None),
    ("gce_instance", None, None),
])
def test_cloud_run_service(resource_type: str, drop: str | None, expected: str | None) -> None:
    labels = {k: v for k, v in RUN_LABELS.items() if k != drop}
    incident = notification_with(resource={"type": resource_type, "labels": labels})
    assert incident.cloud_run_service == expected


def test_cloud_run_service_needs_some_project() -> None:
    labels = {k: v for k, v in RUN_LABELS.items() if k != "project_id"}
    incident = notification_with(resource={"type": "cloud_run_revision", "labels": labels}, scoping_project_id="")
    assert incident.cloud_run_service is None


# --- Bad input: every failure names its field ------------------------------------------------


def minimal(**incident_fields: Any) -> dict[str, Any]:
    incident = {"incident_id": "0.x", "state": "open", "started_at": 1746178794, **incident_fields}
    return {"incident": {k: v for k, v in incident.items() if v is not ...}, "version": "1.2"}


def padded_to(size: int) -> bytes:
    """A valid notification of exactly `size` bytes."""
    empty = json.dumps(minimal(summary="")).encode()
    return json.dumps(minimal(summary="x" * (size - len(empty)))).encode()


def published(data: Any, **message: Any) -> dict[str, Any]:
    return {"message": {"data": data, "messageId": "1", **message}, "subscription": "projects/p/subscriptions/s"}


BAD_INPUTS: list[tuple[str, Callable[[Any], Any], Any, str]] = [
    # (id, parser, input, the field the error must name)
    ("not json", parse_notification, b"{not json", "notification"),
    ("not json in message", parse_message_published, published(b64("{not json")), "message.data"),
    ("not utf-8", parse_notification, b'{"incident": "\xff"}', "notification"),
    ("not utf-8 in message", parse_message_published, published(b64(b"\xff\xfe{}")), "message.data"),
    ("not base64", parse_message_published, published("this is not base64!"), "message.data"),
    ("base64 bad padding", parse_message_published, published("e30"), "message.data"),
    # Lenient decoders skip these characters and would read a valid notification.
    ("base64 with junk", parse_message_published, published("*" + b64(json.dumps(minimal()))), "message.data"),
    ("base64 with newline", parse_message_published, published(b64(json.dumps(minimal())) + "\n"), "message.data"),
    ("base64 not a string", parse_message_published, published(123), "message.data"),
    ("json array", parse_notification, b"[1, 2]", "notification"),
    ("json string in message", parse_message_published, published(b64('"open"')), "message.data"),
    ("no incident", parse_notification, {"version": "1.2"}, "incident"),
    ("incident not object", parse_notification, {"incident": ["0.x"]}, "incident"),
    ("incident_id missing", parse_notification, minimal(incident_id=...), "incident.incident_id"),
    ("incident_id empty", parse_notification, minimal(incident_id="  "), "incident.incident_id"),
    ("incident_id null", parse_notification, minimal(incident_id=None), "incident.incident_id"),
    ("incident_id too long to key by", parse_notification, minimal(incident_id="0." + "a" * 1600),
     "incident.incident_id"),
    ("incident_id long in UTF-8", parse_notification, minimal(incident_id="0." + "é" * 64), "incident.incident_id"),
    ("state missing", parse_notification, minimal(state=...), "incident.state"),
    ("state maybe", parse_notification, minimal(state="maybe"), "incident.state"),
    ("started_at yesterday", parse_notification, minimal(started_at="yesterday"), "incident.started_at"),
    ("started_at iso", parse_notification, minimal(started_at="2026-01-01T00:00:00Z"), "incident.started_at"),
    ("started_at bool", parse_notification, minimal(started_at=True), "incident.started_at"),
    ("started_at missing", parse_notification, minimal(started_at=...), "incident.started_at"),
    ("ended_at tomorrow", parse_notification, minimal(ended_at="tomorrow"), "incident.ended_at"),
    ("started_at in milliseconds", parse_notification, minimal(started_at=1746178794123), "incident.started_at"),
    ("started_at negative", parse_notification, minimal(started_at=-5), "incident.started_at"),
    ("ended_at in milliseconds", parse_notification, minimal(ended_at="1746178794123"), "incident.ended_at"),
    # Open and ended at once: which state holds is unknown, and only an open incident may lead to an
    # action (the test notification's `"ended_at": 0` is its placeholder).
    ("open with ended_at", parse_notification, minimal(ended_at=1746178854), "incident.ended_at"),
    ("open with ended_at in message", parse_message_published,
     published(b64(json.dumps(minimal(ended_at=1746178854)))), "incident.ended_at"),
    # A key given twice: Python keeps the last, other readers the first (RFC 8259 4: names "SHOULD be
    # unique"); {"state": "closed", ..., "state": "open"} must not act on whichever came last.
    ("state given twice", parse_notification,
     b'{"incident": {"incident_id": "0.x", "state": "closed", "started_at": 1746178794, "state": "open"}}',
     "notification"),
    ("a label given twice in message", parse_message_published, published(b64(
        '{"incident": {"incident_id": "0.x", "state": "open", "started_at": 1746178794, "resource": {"type": '
        '"cloud_run_revision", "labels": {"service_name": "a", "service_name": "b"}}}}')), "message.data"),
    # Valid JSON by its grammar that no reader here can hold: a number past Python's 4,300 digits
    # (ValueError), a lone UTF-16 surrogate (not Unicode text). Each raised an unexpected error,
    # redelivered until given up, instead of a rejection naming it.
    ("a number of 5,000 digits", parse_notification,
     b'{"incident": {"incident_id": "0.x", "state": "open", "started_at": 1' + b"0" * 5000 + b"}}", "notification"),
    ("a number of 5,000 digits in message", parse_message_published,
     published(b64(b'{"incident": {"incident_id": "0.x", "state": "open", "started_at": 1' + b"0" * 5000 + b"}}")),
     "message.data"),
    ("incident_id a lone surrogate", parse_notification,
     b'{"incident": {"incident_id": "0.\\ud800x", "state": "open", "started_at": 1746178794}}', "incident.incident_id"),
    ("policy_name a lone surrogate", parse_notification,
     b'{"incident": {"incident_id": "0.x", "state": "open", "started_at": 1746178794, "policy_name": "a\\udc00"}}',
     "incident.policy_name"),
    ("resource labels nested", parse_notification,
     minimal(resource={"type": "gce_instance", "labels": {"zone": {"name": "us-central1-c"}}}),
     "incident.resource.labels.zone"),
    ("metric labels a list", parse_notification, minimal(metric={"labels": ["a"]}), "incident.metric.labels"),
    ("user labels nested", parse_notification, minimal(policy_user_labels={"team": ["a"]}),
     "incident.policy_user_labels.team"),
    ("resource not object", parse_notification, minimal(resource="gce_instance"), "incident.resource"),
    ("documentation a number", parse_notification, minimal(documentation=3), "incident.documentation"),
    ("link url a list", parse_notification, minimal(documentation={"links": [{"url": ["x"]}]}),
     "incident.documentation.links.0.url"),
    ("oversized", parse_notification, padded_to(MAX_NOTIFICATION_BYTES + 1), "notification"),
    ("oversized in message", parse_message_published,
     published(b64(padded_to(MAX_NOTIFICATION_BYTES + 1))), "message.data"),
    ("data missing", parse_message_published, {"message": {"messageId": "1"}}, "message.data"),
    ("data empty", parse_message_published, published(""), "message.data"),
    ("message missing", parse_message_published, {"subscription": "projects/p/subscriptions/s"}, "message"),
    ("message not object", parse_message_published, {"message": "hi"}, "message"),
    ("publish_time garbage", parse_message_published, published(b64("{}"), publishTime="soon"),
     "message.publish_time"),
    # Read as the pipeline reads a message's data, and refused in its words (docs/commands.md, `parse`).
    ("load_any unknown shape", load_any, b'{"alert": {}}', "incident"),
    ("load_any not json", load_any, b"incident: yes", "notification"),
    ("load_any cloud event of another type", load_any,
     json.dumps({"specversion": "1.0", "type": "google.cloud.storage.object.v1.finalized", "data": {}}), "type"),
    ("load_any cloud event bad base64", load_any,
     json.dumps({"specversion": "1.0", "type": "google.cloud.pubsub.topic.v1.messagePublished",
                 "data": published("%%%")}), "data.message.data"),
    ("load_any incident error inside push body", load_any,
     json.dumps(published(b64(json.dumps(minimal(state="maybe"))))), "incident.state"),
]


@pytest.mark.parametrize("parser, payload, field", [row[1:] for row in BAD_INPUTS], ids=[row[0] for row in BAD_INPUTS])
def test_bad_input_names_the_field(parser: Callable[[Any], Any], payload: Any, field: str) -> None:
    with pytest.raises(IncidentParseError) as caught:
        parser(payload)
    error = caught.value
    assert error.field == field
    assert error.reason
    assert str(error) == f"{field}: {error.reason}"
    assert isinstance(error, ValueError)


@pytest.mark.parametrize("payload, reason", [
    (minimal(started_at="yesterday"), "expected epoch seconds (an integer), got 'yesterday': send the time as a "
                                      "JSON number of seconds since 1970, such as 1746178794"),
    (minimal(state="maybe"), "expected 'open' or 'closed', got 'maybe'"),
    (minimal(started_at=1746178794123),
     "expected epoch seconds from 1970 to 2100, got 1746178794123 (epoch milliseconds?)"),
    (minimal(incident_id=...), "is required"),
    (minimal(ended_at=1746178854), "the incident is 'open' but ended at 1746178854 (2025-05-02T09:40:54Z): an open "
                                   "incident has no end, so which of the two holds is unknown; nothing is acted on"),
    (b'{"incident": {"incident_id": "0.x", "state": "open", "state": "closed"}}',
     "the key 'state' appears twice in one object: which value is meant is ambiguous, so neither is used"),
    (minimal(resource={"labels": {"zone": {}}}), "expected a string label value, got object"),
    (minimal(incident_id="0." + "a" * 1600), "1602 bytes is longer than any Monitoring incident id (at most 128; "
                                              "they look like '0.nrwotmyokd9n'), and Runwarden keys its records by it"),
])
def test_reasons_read_well(payload: dict[str, Any], reason: str) -> None:
    with pytest.raises(IncidentParseError) as caught:
        parse_notification(payload)
    assert caught.value.reason == reason


# A number past Python's 4,300 digits was answered with Python's own advice ("use sys.set_int_max_str_digits() to
# increase the limit"): where it is and how long, said instead, on either path in.
LONG_STARTED_AT = b'{"incident": {"incident_id": "0.x", "state": "open", "started_at": 1' + b"0" * 5000 + b"}}"


@pytest.mark.parametrize("parser, payload", [
    (parse_notification, LONG_STARTED_AT), (parse_message_published, published(b64(LONG_STARTED_AT))),
], ids=["notification", "message"])
def test_a_number_too_long_to_read_says_where_it_is(parser: Callable[[Any], Any], payload: Any) -> None:
    with pytest.raises(IncidentParseError) as caught:
        parser(payload)
    reason = caught.value.reason
    at = LONG_STARTED_AT.index(b"1" + b"0" * 5000) + 1
    assert f"a number 5001 digits long at character {at} (100000000000...)" in reason, reason
    assert "read up to 4300 digits" in reason and "sys.set_int_max_str_digits" not in reason, reason


def test_size_limit_is_inclusive() -> None:
    assert len(padded_to(MAX_NOTIFICATION_BYTES)) == MAX_NOTIFICATION_BYTES
    assert parse_notification(padded_to(MAX_NOTIFICATION_BYTES)).incident_id == "0.x"
    message = published(b64(padded_to(MAX_NOTIFICATION_BYTES)))
    assert parse_message_published(message)[1].incident_id == "0.x"


def test_oversized_is_refused_before_json_parsing() -> None:
    # Not JSON at all, but too big: the size is what gets reported.
    with pytest.raises(IncidentParseError, match="limit"):
        parse_notification(b"x" * (MAX_NOTIFICATION_BYTES + 1))


def test_attributes_only_message_decodes_without_data() -> None:
    message = decode_message_published({"message": {"attributes": {"kind": "ping"}, "messageId": "7"}})
    assert (message.data, message.attributes) == (b"", {"kind": "ping"})


# --- The wall: shared/ stays free of Google libraries, the sandbox and the CLI -----------------


def test_incidents_imports_nothing_it_should_not() -> None:
    tree = ast.parse(inspect.getsource(shared.alerts.incidents))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {m for m in imported if m.split(".")[0] in {"google", "sandbox", "cli", "functions"}}


def _notifications() -> list[dict[str, Any]]:
    """Every sample notification and every bundled scenario's alert, open and closed, and each with
    its nulls and optional parts varied."""
    from datetime import datetime, timezone

    from sandbox.scenarios import list_bundled_scenarios, resolve_scenario

    found = [doc(name) for name in NOTIFICATIONS]
    anchor = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    for scenario in map(resolve_scenario, list_bundled_scenarios()):
        if scenario.alert is not None:
            found.append(scenario.notification(anchor, f"0.{scenario.name}"))
            found.append(scenario.notification(anchor, f"0.{scenario.name}", state="closed", ended_at=anchor))
    varied = []
    for notification in found:
        nulls = copy.deepcopy(notification)
        nulls["incident"].update({"documentation": None, "observed_value": None, "summary": None, "condition": None})
        numbers = copy.deepcopy(notification)
        numbers["incident"].update({"incident_id": 123, "threshold_value": 0.5,    # started_at as a string
                                    "started_at": str(notification["incident"]["started_at"])})
        varied += [nulls, numbers]
    return found + varied


# Every bundled scenario's notification, four ways: about 2,600 parses, growing with the scenarios (73 s alone on
# a loaded 2-core machine, past pytest's 120 s under the full suite's load).
@pytest.mark.timeout(600)
def test_the_incident_is_what_validating_its_fields_again_gives() -> None:
    """The Incident holds the same fields, values and types as one validated again from them, for
    every notification at hand (nulls dropped or not: `_null_means_absent` keeps an object
    without nulls as it is)."""
    checked = 0
    for notification in _notifications():
        incident = parse_notification(notification)
        values = {name: getattr(incident, name) for name in Incident.model_fields}
        validated = Incident(**copy.deepcopy(values))
        assert validated == incident and validated.model_fields_set == incident.model_fields_set
        assert all(type(getattr(validated, name)) is type(value) for name, value in values.items())
        assert incident.model_dump(mode="json") == validated.model_dump(mode="json")
        checked += 1
    assert checked > 20


@pytest.mark.parametrize("value", ["NaN", "inf", "-Infinity", "1e309", "", "about 5"])
@pytest.mark.parametrize("bar, expected", [(2001, 2001.0), ("Infinity", None), (..., None)])
def test_a_threshold_is_a_finite_number_or_the_conditions_own(value: str, bar, expected: float | None) -> None:
    """float() reads "NaN" and "inf": an infinite bar on a 5xx count would clear any number of 5xx. A
    threshold_value that is no finite number is no bar: the condition's own thresholdValue is (the
    sample's 2001), if finite (ProtoJSON writes an infinite double as "Infinity")."""
    condition = {"conditionThreshold": {"filter": "f"} | ({} if bar is ... else {"thresholdValue": bar})}
    document = doc(PUBSUB_OPEN)
    document["incident"].update(condition=condition if bar is not ... else {"displayName": "c"}, threshold_value=value)
    assert parse_notification(document).threshold == expected
    # A finite threshold_value is read, where the condition's own bar agrees with it or is none.
    agreeing = "2001.000" if expected is not None else "0.05"
    assert parse_notification({**document, "incident": {**document["incident"], "threshold_value": agreeing}}
                              ).threshold == (expected if expected is not None else 0.05)


@pytest.mark.parametrize("threshold_value, condition, expected", [
    (..., {"conditionThreshold": {"filter": "f", "thresholdValue": 0.005}}, 0.005),   # the bar, from the policy
    # Both numbers, disagreeing: neither is the bar (Incident.threshold_disagreement). The incident's own
    # once won, and a relay's or a template's number was the bar a policy was judged at.
    ("0.05", {"conditionThreshold": {"filter": "f", "thresholdValue": 0.005}}, None),
    ("5", {"conditionThreshold": {"filter": "f", "thresholdValue": 0.05}}, None),   # a share shown in percent?
    ("50", {"conditionThreshold": {"filter": "f", "thresholdValue": 5}}, None),
    # Agreeing as far as the string's digits go (Monitoring rounds it: "0.835", "7679.000"): the
    # condition's own, exact (the rounded "0.001" would be the looser bar).
    ("0.005", {"conditionThreshold": {"filter": "f", "thresholdValue": 0.005}}, 0.005),
    ("2001.000", {"conditionThreshold": {"filter": "f", "thresholdValue": 2001}}, 2001.0),
    ("0.001", {"conditionThreshold": {"filter": "f", "thresholdValue": 0.0005}}, 0.0005),
    ("0", {"conditionThreshold": {"filter": "f"}}, 0.0),   # no thresholdValue: ProtoJSON's omitted 0
    ("5", {"conditionThreshold": {"filter": "f"}}, 5.0),   # ... which never disagrees: it is only inferred
    (..., {"conditionThreshold": {"filter": "f"}}, 0.0),   # ProtoJSON omits a 0 bar ("any 5xx")
    # No number in threshold_value (units, prose): the condition's own bar, never none (then the
    # settings' looser default judged a 0.1 % policy, and 0.5 % of 5xx was called healthy).
    ("0.1 %", {"conditionThreshold": {"filter": "f", "thresholdValue": 0.001}}, 0.001),
    ("2 s", {"conditionThreshold": {"filter": "f", "thresholdValue": 2000}}, 2000.0),
    ("about 5", {"conditionThreshold": {"filter": "f", "thresholdValue": 5}}, 5.0),
    ("NaN", {"conditionThreshold": {"filter": "f", "thresholdValue": 0.01}}, 0.01),
    ("about 5", {"conditionMonitoringQueryLanguage": {"query": "fetch x | condition val() > 5"}}, None),  # no bar
])
def test_a_notification_without_threshold_value_keeps_its_conditions_bar(threshold_value, condition, expected) -> None:
    """Without `threshold_value`, a 0.5 % policy was judged at the settings' 1 %: called healthy at 0.8 %
    5xx while its own condition still held. The condition carries the same bar as a number."""
    document = doc(PUBSUB_OPEN)
    document["incident"].update(condition=condition, threshold_value=threshold_value)
    if threshold_value is ...:
        del document["incident"]["threshold_value"]
    assert parse_notification(document).threshold == expected


def test_a_close_is_taken_as_it_says_whatever_its_times():
    """A close only ever holds actions back: one ending before its start (a relay's clock) is still a close."""
    incident = parse_notification(minimal(state="closed", ended_at=1746178794 - 60))
    assert not incident.is_open and incident.ended_at == 1746178794 - 60


def test_an_escaped_character_pair_is_text_as_any_other():
    """JSON writers that escape non-ASCII write an emoji as a surrogate pair: whole, it is read."""
    incident = parse_notification(b'{"incident": {"incident_id": "0.x", "state": "open", "started_at": 1746178794, '
                                  b'"policy_name": "checkout \\ud83d\\udd25", "summary": "caf\\u00e9"}}')
    assert incident.policy_name == "checkout \U0001f525" and incident.summary == "caf\u00e9"
