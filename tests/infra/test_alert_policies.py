"""The alert policies parse as Cloud Monitoring's own AlertPolicy message, name the service,
link their runbook section, and the watchdog never reports to Runwarden itself."""
from __future__ import annotations

import re
from typing import Any

import pytest
from google.cloud import monitoring_v3
from google.protobuf import json_format

from shared.config import DiagnosisSettings
from tests.infra.terraform import ROOT, evaluate, load_module, render, single

# Terraform arguments with no AlertPolicy field: where the policy lives and what it notifies
# (notification_channels are resolved ids, checked separately).
TERRAFORM_ONLY = {"project", "notification_channels", "user_labels", "for_each", "count", "depends_on", "lifecycle"}
POLICIES = load_module().of_type("google_monitoring_alert_policy")
WATCHED = ("error_ratio", "request_timeout", "latency", "connector", "connector_ceiling", "database")
# A policy made once per item of its for_each is read for one item: these are the `each.value` fields
# it is read with (local.connector_ceilings: a connector whose own max instances is 4).
EACH = {"connector_ceiling": {"project": "rw-project", "location": "us-central1", "connector": "conn", "max_instances": 4},
        # module.latency_conditions.conditions: the services with a 300 s timeout (tests/infra/
        # test_latency_conditions.py runs that module).
        "latency": {"timeout_seconds": 300, "threshold_ms": 270000.0,
                    "filter": 'metric.type = "run.googleapis.com/request_latencies" AND resource.type = "cloud_run_revision"'}}
WATCHDOG = ("dead_letter", "function_errors", "config_error", "heartbeat", "notify")


def to_proto_dict(body: dict[str, Any], descriptor: Any, where: str) -> dict[str, Any]:
    """Terraform's block structure as AlertPolicy JSON: single blocks unwrapped, expressions
    evaluated where they are plain arithmetic on variables' defaults."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in TERRAFORM_ONLY:
            continue
        field = descriptor.fields_by_name.get(key)
        assert field is not None, f"{where}: {key} is not a field of {descriptor.full_name}"
        value = evaluate(value)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            out[key] = value
        elif field.message_type is not None and field.message_type.full_name.startswith("google.protobuf."):
            out[key] = value               # Duration, BoolValue: their JSON form is the value itself
        elif field.message_type is not None:
            items = value if isinstance(value, list) else [value]
            converted = [to_proto_dict(v, field.message_type, f"{where}.{key}") for v in items]
            out[key] = converted if field.is_repeated else single(converted)
        else:
            out[key] = value
    return out


def bind_each(value: Any, each: dict[str, Any], prefix: str = "each.value") -> Any:
    """`PREFIX.FIELD` replaced by its value: a whole `${PREFIX.FIELD}` template by the value, inside
    a template by its text, inside arithmetic by the number (so `evaluate` computes it)."""
    if isinstance(value, list):
        return [bind_each(v, each, prefix) for v in value]
    if isinstance(value, dict):
        return {k: bind_each(v, each, prefix) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    for key, item in each.items():
        if value == "${" + prefix + "." + key + "}":
            return item
        value = value.replace("${" + prefix + "." + key + "}", str(item))
        value = re.sub(rf"\b{re.escape(prefix)}\.{key}\b", repr(item), value)
    return value


# module.config_check.diagnosis: the config's diagnosis bars, at the code's defaults (the config
# check's own defaults are held to these by tests/infra/test_config_check.py).
DIAGNOSIS = {"bad_error_ratio": DiagnosisSettings().bad_error_ratio,
             "connector_cpu_saturation": DiagnosisSettings().connector_cpu_saturation}


def body_of(name: str, each: dict[str, Any] | None = None) -> dict[str, Any]:
    body = bind_each(POLICIES[name], DIAGNOSIS, "module.config_check.diagnosis")
    if "for_each" in body:
        body = bind_each(body, each if each is not None else EACH[name])
    return body


def parse(name: str, each: dict[str, Any] | None = None) -> monitoring_v3.AlertPolicy:
    descriptor = monitoring_v3.AlertPolicy.pb().DESCRIPTOR
    data = to_proto_dict(body_of(name, each), descriptor, name)
    message = monitoring_v3.AlertPolicy.pb()()
    json_format.ParseDict(data, message)   # raises on an unknown field, a bad enum or a bad duration
    return monitoring_v3.AlertPolicy.wrap(message)


def test_there_is_a_policy_per_family_and_per_watchdog_check() -> None:
    assert set(WATCHED) | set(WATCHDOG) == set(POLICIES)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_policy_parses_as_an_alert_policy(name: str) -> None:
    policy = parse(name)
    assert policy.display_name.startswith("Runwarden")
    assert policy.conditions, name
    for condition in policy.conditions:
        kind = monitoring_v3.AlertPolicy.Condition.pb(condition).WhichOneof("condition")
        assert kind in {"condition_threshold", "condition_absent", "condition_matched_log"}, name
        assert getattr(condition, kind).filter, f"{name}: a condition without a filter"
    assert policy.documentation.content and policy.documentation.mime_type == "text/markdown"


def test_a_bad_enum_does_not_parse() -> None:
    body = dict(POLICIES["error_ratio"], combiner="EITHER")
    with pytest.raises(json_format.ParseError):
        json_format.ParseDict(to_proto_dict(body, monitoring_v3.AlertPolicy.pb().DESCRIPTOR, "x"),
                              monitoring_v3.AlertPolicy.pb()())


@pytest.mark.parametrize("name", ["error_ratio", "request_timeout", "latency"])
def test_service_policies_are_grouped_so_the_notification_names_the_service(name: str) -> None:
    for condition in parse(name).conditions:
        for aggregation in condition.condition_threshold.aggregations:
            fields = set(aggregation.group_by_fields)
            assert {"resource.label.service_name", "resource.label.location", "resource.label.project_id"} <= fields
        assert 'resource.type = "cloud_run_revision"' in condition.condition_threshold.filter


def test_every_latency_condition_is_per_request_timeout() -> None:
    """A service's request timeout is its own, and p99 never passes it: a latency condition at one
    bar for every service never fires for a service with a shorter timeout. Each condition on
    request_latencies must be one of module.latency_conditions' (one per timeout), at its bar."""
    found = []
    for name, body in sorted(POLICIES.items()):
        if "request_latencies" not in repr(body) and "each.value.threshold_ms" not in repr(body):
            continue
        found.append(name)
        assert body.get("for_each") == "${module.latency_conditions.conditions}", name
        threshold = single(single(body["conditions"])["condition_threshold"])
        assert threshold["threshold_value"] == "${each.value.threshold_ms}", name
        assert threshold["filter"] == "${each.value.filter}", name
    assert found == ["latency"], found
    module = load_module().modules["latency_conditions"]
    assert module["service_request_timeouts"] == "${var.service_request_timeouts}"
    assert module["watched_services"] == "${var.watched_services}"


def test_the_latency_condition_sits_below_the_request_timeout() -> None:
    each = EACH["latency"]
    threshold = parse("latency").conditions[0].condition_threshold.threshold_value
    assert 0.5 * each["timeout_seconds"] * 1000 < threshold < each["timeout_seconds"] * 1000


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_documentation_links_an_existing_runbook_section(name: str) -> None:
    content = parse(name).documentation.content
    anchors = re.findall(r"#(runbook-[a-z0-9-]+)", content)
    assert anchors, f"{name}: no runbook link"
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    for anchor in anchors:
        assert f'id="{anchor}"' in deploy, f"{name}: docs/deploy.md has no section {anchor}"


@pytest.mark.parametrize("name", WATCHDOG)
def test_the_watchdog_reports_to_people_only(name: str) -> None:
    assert POLICIES[name]["notification_channels"] == "${var.human_notification_channels}"


@pytest.mark.parametrize("name", WATCHED)
def test_service_policies_reach_runwarden(name: str) -> None:
    assert POLICIES[name]["notification_channels"] == "${local.service_channels}"
    assert "google_monitoring_notification_channel.runwarden.name" in load_module().locals["service_channels"]


def test_log_alerts_set_a_notification_rate_limit() -> None:
    # Monitoring refuses a log-match policy without one.
    for name in sorted(POLICIES):
        policy = parse(name)
        if any(monitoring_v3.AlertPolicy.Condition.pb(c).WhichOneof("condition") == "condition_matched_log"
               for c in policy.conditions):
            assert len(policy.conditions) == 1, f"{name}: a log-match policy holds exactly one condition"
            assert policy.alert_strategy.notification_rate_limit.period.total_seconds() > 0, name


def test_the_notify_alert_matches_the_commands_contract() -> None:
    # tests/infra/test_log_filters.py runs the rendered filter against entries; here, its text.
    rendered = render(single(single(POLICIES["notify"]["conditions"])["condition_matched_log"])["filter"])
    assert 'labels.runwarden_step = "notify"' in rendered
    for status in ("escalated", "proposed", "undone", "failed", "reminder"):
        assert f'labels.runwarden_status = "{status}"' in rendered
    assert "severity >= WARNING" in rendered


def test_every_dead_lettered_burst_is_notified_not_only_the_first() -> None:
    """The backlog condition (undelivered messages on the hold subscription above 0) opens one incident
    and keeps it open until someone acknowledges every held message; a Monitoring incident notifies when
    it opens, so an alert dead-lettered an hour after the first, still unhandled, reached nobody. The
    policy also counts what Pub/Sub forwards from each push subscription ("use the
    subscription/dead_letter_message_count metric. This metric shows the number of undeliverable
    messages that Pub/Sub forwards from a subscription", Pub/Sub "Monitor forwarded undeliverable
    messages"), per subscription, with no data read as none (EVALUATION_MISSING_DATA_INACTIVE): its
    incident closes once no more arrive, and the next burst opens, and notifies, a new one."""
    policy = parse("dead_letter")
    assert policy.combiner == monitoring_v3.AlertPolicy.ConditionCombinerType.OR
    counted = [c.condition_threshold for c in policy.conditions
               if "subscription/dead_letter_message_count" in c.condition_threshold.filter]
    assert len(counted) == 1, "no condition counts messages as they are dead-lettered"
    condition = counted[0]
    assert 'resource.type = "pubsub_subscription"' in condition.filter
    # one_of(every push subscription's name), as Terraform renders local.push_subscription_ids
    assert 'one_of(${join(", ", [for s in google_pubsub_subscription.push : ' in condition.filter, condition.filter
    assert condition.comparison == monitoring_v3.ComparisonType.COMPARISON_GT and condition.threshold_value == 0
    assert condition.evaluation_missing_data == (
        monitoring_v3.AlertPolicy.Condition.EvaluationMissingData.EVALUATION_MISSING_DATA_INACTIVE)
    (aggregation,) = condition.aggregations
    assert list(aggregation.group_by_fields) == ["resource.label.subscription_id"]
    assert aggregation.per_series_aligner == monitoring_v3.Aggregation.Aligner.ALIGN_DELTA
    assert any("num_undelivered_messages" in c.condition_threshold.filter for c in policy.conditions), \
        "the backlog condition (a message still held) is kept"


def test_the_heartbeat_fires_even_if_no_sweep_ever_completed() -> None:
    """A metric-absence condition never fires for a metric that never had a point: "The condition won't
    trigger when the subsystem that writes metric data has never written a data point", and it needs one
    "within the maximum duration window after the policy was installed or modified" (Cloud Monitoring,
    "Create metric-absence alerting policies"). A Runwarden whose sweep never completed after its first
    apply (the Scheduler refused the publish, every sweep failing), or after an apply that modified the
    policy, was never reported missing. So the policy also holds a threshold condition on the same
    metric, fewer than one sweep for the same three periods, that counts a period without data as
    failing (EVALUATION_MISSING_DATA_ACTIVE: "If there is no data to evaluate the condition, then
    evaluate the condition as true", AlertPolicy.Condition.EvaluationMissingData)."""
    policy = parse("heartbeat")
    assert policy.combiner == monitoring_v3.AlertPolicy.ConditionCombinerType.OR
    kinds = {monitoring_v3.AlertPolicy.Condition.pb(c).WhichOneof("condition"): c for c in policy.conditions}
    assert set(kinds) == {"condition_absent", "condition_threshold"}, set(kinds)
    absent, threshold = kinds["condition_absent"].condition_absent, kinds["condition_threshold"].condition_threshold
    assert threshold.filter == absent.filter
    assert threshold.evaluation_missing_data == (
        monitoring_v3.AlertPolicy.Condition.EvaluationMissingData.EVALUATION_MISSING_DATA_ACTIVE)
    assert threshold.comparison == monitoring_v3.ComparisonType.COMPARISON_LT and threshold.threshold_value == 1
    assert threshold.duration == absent.duration
    assert list(threshold.aggregations) == list(absent.aggregations)


def test_the_heartbeat_is_absent_for_three_sweep_periods() -> None:
    condition = next(c.condition_absent for c in parse("heartbeat").conditions
                     if monitoring_v3.AlertPolicy.Condition.pb(c).WhichOneof("condition") == "condition_absent")
    period = evaluate("${var.sweep_interval_minutes}") * 60
    assert condition.duration.total_seconds() == 3 * period
    metric = load_module().resource("google_logging_metric", "sweep_heartbeat")
    assert 'labels.runwarden_step = "swept"' in metric["filter"]
    # ... the step the sweep writes once it completes (shared/commands/__init__.py).
    assert 'timeline.step("swept"' in (ROOT / "shared" / "commands" / "__init__.py").read_text()
    assert "google_logging_metric.sweep_heartbeat.name" in condition.filter


def test_the_config_error_alert_matches_the_runtime() -> None:
    from functions import runtime

    source = (ROOT / "functions" / "runtime.py").read_text()
    assert '"config_error"' in source and 'severity="CRITICAL"' in source, runtime.__file__
    condition = parse("config_error").conditions[0].condition_matched_log
    assert 'labels.runwarden_step = "config_error"' in condition.filter and "CRITICAL" in condition.filter


# The value each group-by label carries in a notification, as Cloud Monitoring's monitored resource
# list gives them (cloudsql_database.database_id is "project:instance").
_LABEL_VALUES = {"project_id": "rw-project", "location": "us-central1", "region": "us-central1",
                 "service_name": "backend", "revision_name": "backend-00002-xyz", "connector_name": "conn",
                 "database_id": "rw-project:main-db"}
_EXPECTED_TARGET = {"cloud_run_revision": "service", "vpc_access_connector": "connector",
                    "cloudsql_database": "cloudsql"}


@pytest.mark.parametrize("name", WATCHED)
def test_every_condition_of_a_watched_policy_notifies_a_target_runwarden_can_route(name: str) -> None:
    """Each condition's notification, as Monitoring fills it from the condition's own groupings
    (the resource labels are the group-by fields; schema 1.2), read by the parser the functions
    use: it must name one service, connector or Cloud SQL instance, never be unroutable."""
    from shared.alerts.incidents import alert_target, parse_notification

    for condition in parse(name).conditions:
        threshold = condition.condition_threshold
        resource_type = re.search(r'resource\.type = "([a-z_]+)"', threshold.filter).group(1)
        fields = {f.rsplit(".", 1)[-1] for a in threshold.aggregations for f in a.group_by_fields}
        labels = {f: _LABEL_VALUES[f] for f in fields}
        metric_type = re.search(r'metric\.type = "([^"]+)"', threshold.filter).group(1)
        notification = {"version": "1.2", "incident": {
            "incident_id": "0.abc", "state": "open", "started_at": 1764590400, "ended_at": None,
            "policy_name": evaluate(body_of(name)["display_name"]), "condition_name": condition.display_name,
            "scoping_project_id": "rw-project",
            "resource": {"type": resource_type, "labels": labels},
            "metric": {"type": metric_type, "labels": {}},
            "condition": {"displayName": condition.display_name,
                          "conditionThreshold": {"filter": threshold.filter,
                                                 "comparison": monitoring_v3.ComparisonType(threshold.comparison).name,
                                                 "thresholdValue": threshold.threshold_value}},
            "observed_value": "1", "threshold_value": str(threshold.threshold_value)}}
        target = alert_target(parse_notification(notification))
        assert target.kind.value == _EXPECTED_TARGET[resource_type], (
            f"{name} / {condition.display_name}: {target.kind.value}: {target.reason}")


# The numerator's metric labels a notification of each ratio policy carries (schema 1.2 `metric.labels`:
# the series' own labels, the 5xx class or the 504 code its filter selects).
_RATIO_LABELS = {"error_ratio": {"response_code_class": "5xx"}, "request_timeout": {"response_code": "504"}}


@pytest.mark.parametrize("name", WATCHED)
def test_every_watched_policys_whole_condition_is_read_and_judged(name: str) -> None:
    """The notification carries the whole condition, as Monitoring sends it (AlertPolicy.Condition in
    ProtoJSON: aggregations, denominatorFilter, duration, trigger). Read by the intake the functions use,
    nothing in it may make Runwarden refuse or doubt it: its parts agree, a CLOSED can show recovery,
    a ratio policy is read as a share with its own bar, and the health check judges it. A policy edited
    into a form Runwarden does not read (a query condition, a forecast, a bar in another unit) fails here
    rather than in an incident."""
    from shared.alerts.incidents import parse_notification
    from shared.diagnosis.health_bar import health_bar
    from shared.diagnosis.scope import alert_context

    for condition in parse(name).conditions:
        threshold = condition.condition_threshold
        resource_type = re.search(r'resource\.type = "([a-z_]+)"', threshold.filter).group(1)
        fields = {f.rsplit(".", 1)[-1] for a in threshold.aggregations for f in a.group_by_fields}
        whole = json_format.MessageToDict(monitoring_v3.AlertPolicy.Condition.pb(condition))
        for state, ended in (("open", None), ("closed", 1764590700)):
            incident = parse_notification({"version": "1.2", "incident": {
                "incident_id": "0.abc", "state": state, "started_at": 1764590400, "ended_at": ended,
                "policy_name": evaluate(body_of(name)["display_name"]), "condition_name": condition.display_name,
                "scoping_project_id": "rw-project",
                "resource": {"type": resource_type, "labels": {f: _LABEL_VALUES[f] for f in fields}},
                "metric": {"type": re.search(r'metric\.type = "([^"]+)"', threshold.filter).group(1),
                           "labels": _RATIO_LABELS.get(name, {})},
                "condition": {"name": "projects/rw-project/alertPolicies/1/conditions/2", **whole},
                "observed_value": "0", "threshold_value": str(threshold.threshold_value)}})
            where = f"{name} / {condition.display_name} ({state})"
            assert incident.condition_doubt == "", where
            assert incident.recovery_unread == "" and incident.recovery_doubt == "", where
            assert incident.is_ratio == bool(threshold.denominator_filter), where
            assert incident.threshold == pytest.approx(threshold.threshold_value), where
            bar = health_bar(alert_context(incident), DiagnosisSettings())
            assert bar.judged, f"{where}: {bar.why_not}"


# --- thresholds that are a setting of each resource ---------------------------------------------

_CONNECTOR_INSTANCES = "vpcaccess.googleapis.com/connector/instances"


def _holds(comparison: int, value: float, threshold: float) -> bool:
    name = monitoring_v3.ComparisonType(comparison).name
    return {"COMPARISON_GT": value > threshold, "COMPARISON_LT": value < threshold}[name]


def test_every_connector_instances_condition_is_per_connector() -> None:
    """A connector's max instances is its own (VPC Access v1 Connector.maxInstances; gcloud takes
    3-10): a condition on connector/instances with one bar for every connector never fires for a
    connector whose max is under it. Each such condition must be one connector's, at its own max."""
    found = []
    for name, body in sorted(POLICIES.items()):
        text = repr(body)
        if _CONNECTOR_INSTANCES not in text:
            continue
        found.append(name)
        assert body.get("for_each") == "${local.connector_ceilings}", (
            f"{name}: a condition on {_CONNECTOR_INSTANCES} is not made per connector")
        assert "each.value.max_instances" in repr(single(body["conditions"])["condition_threshold"]), (
            f"{name}: the bar is not the connector's own max instances")
    assert found == ["connector_ceiling"], found


@pytest.mark.parametrize("max_instances", [3, 4, 7, 10])
def test_the_connector_ceiling_fires_at_each_connectors_own_max(max_instances: int) -> None:
    each = dict(EACH["connector_ceiling"], max_instances=max_instances)
    condition = single(list(parse("connector_ceiling", each).conditions))
    threshold = condition.condition_threshold
    assert _holds(threshold.comparison, max_instances, threshold.threshold_value), (
        f"a connector at its max of {max_instances} does not alert (threshold {threshold.threshold_value})")
    assert not _holds(threshold.comparison, max_instances - 1, threshold.threshold_value), (
        f"a connector one under its max of {max_instances} alerts")
    assert threshold.aggregations[0].per_series_aligner == monitoring_v3.Aggregation.Aligner.ALIGN_MAX


def test_the_connector_ceiling_filter_names_only_its_connector() -> None:
    each = {"project": "net-host", "location": "europe-west1", "connector": "shop-conn", "max_instances": 5}
    text = parse("connector_ceiling", each).conditions[0].condition_threshold.filter
    for label, value in (("project_id", "net-host"), ("location", "europe-west1"), ("connector_name", "shop-conn")):
        assert f'resource.label.{label} = "{value}"' in text, text
    assert 'resource.type = "vpc_access_connector"' in text


def test_the_connector_ceilings_come_from_each_connectors_full_name() -> None:
    # local.connector_ceilings splits projects/P/locations/L/connectors/C into the resource's labels.
    ceilings = load_module().locals["connector_ceilings"]
    assert "var.connector_max_instances" in ceilings
    for field, index in (("project", 1), ("location", 3), ("connector", 5)):
        assert re.search(rf'\b{field}\s*=\s*split\("/", name\)\[{index}\]', ceilings), ceilings
    assert "connector_instances_alert" not in load_module().variables


# --- thresholds the diagnosis holds too ----------------------------------------------------------

@pytest.mark.parametrize("name,setting", [("error_ratio", "bad_error_ratio"), ("connector", "connector_cpu_saturation")])
def test_a_bar_the_diagnosis_holds_is_the_configs(name: str, setting: str) -> None:
    """The policy fires at the diagnosis's own bar, as the shipped config sets it (config_check
    reads it; the code's default otherwise): at a fixed 0.2 or 0.8, a config that lowers the bar
    misses the failures the diagnosis would act on, and one that raises it pages for what the
    diagnosis then calls normal."""
    threshold = single(single(POLICIES[name]["conditions"])["condition_threshold"])["threshold_value"]
    assert threshold == "${module.config_check.diagnosis." + setting + "}", f"{name}: {threshold}"
    assert parse(name).conditions[0].condition_threshold.threshold_value == getattr(DiagnosisSettings(), setting)


# --- Runwarden's own functions are not watched services -------------------------------------------


def test_the_watched_service_policies_leave_runwardens_own_functions_out() -> None:
    """Every Cloud Run condition of a watched-service policy selects its services through the one
    selection (latency_conditions/main.tf, service_filter and the latency conditions; run for real by
    tests/infra/test_latency_conditions.py), which is given Runwarden's own functions to leave out."""
    from tests.infra.terraform import function_names

    config = load_module()
    assert [evaluate(name) for name in config.locals["own_services"]] == function_names()
    module = config.modules["latency_conditions"]
    assert module["own_services"] == "${local.own_services}"
    assert module["watched_services"] == "${var.watched_services}"
    assert config.locals["service_filter"] == "${module.latency_conditions.service_filter}"
    assert "${local.service_filter}" in config.locals["run_requests"]
    for name in WATCHED:
        for condition in parse(name).conditions:
            text = condition.condition_threshold.filter
            if 'resource.type = "cloud_run_revision"' not in text:
                continue
            raw = single(POLICIES[name]["conditions"])["condition_threshold"]
            raw = single(raw) if isinstance(raw, list) else raw
            assert ("${local.run_requests}" in raw["filter"] or raw["filter"] == "${each.value.filter}"), (name, raw)
