"""Monitoring alert notifications (schema 1.2) as a typed, immutable `Incident`.

A notification arrives as JSON: `{"incident": {...}, "version": "1.2"}`. Over Pub/Sub it is
the base64 `message.data` of a `google.cloud.pubsub.topic.v1.messagePublished` CloudEvent.
This module turns either into an `Incident`, or raises `IncidentParseError` naming the
field at fault. It is pure: no I/O, no Google libraries.

Parsing is lenient where real payloads vary (camelCase or snake_case keys, unknown extra
keys, `ended_at` as null / missing / "null", numbers where strings are expected) and strict
where a wrong value would mislead a decision (incident_id, state, started_at, label maps).
"""
from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from shared.alerts.label_filters import (RESOURCE_TYPE, UNREAD, LabelTest, excluded, excluding_groups, label_tests,
                                         metadata_selections, metadata_tests, shown, unread_groups, unselected)
from shared.alerts.load_balancer import load_balancer_said
from shared.alerts.long_numbers import NumberTooLong, whole_number
from shared.alerts.named_elsewhere import named_elsewhere
from shared.alerts.query_grouping import is_mql, mql_drops, promql_drops
from shared.alerts.query_names import other_series, query_names, selects_alone, workload_names
from shared.alerts.ratio_query import ratio_query
from shared.alerts.relayed import (MAX_WRAPPED_TEXT_BYTES, NOTIFICATION_BYTES, Relayed, WrappedTooDeep, read_through,
                                   message_id_written, wrapped_too_deep)
from shared.clock import CLOCK_SKEW_ALLOWANCE
from shared.echo import quoted as echoed_quoted
from shared.redaction import redacted
from shared.errors import PermanentError
from shared.alerts import label_keys
from shared.gcp.identifiers import (COMMAND_INCIDENT_PREFIX, INCIDENT_ID_CHARACTER, IncidentIdCharacter,
                                    folded_incident_id, resource_label_problem, stripped_incident_id)

# Real notifications are a few KB; documentation content is capped at 10 KB by Monitoring.
# Anything near this size is not a Monitoring notification, so refuse it before parsing.
MAX_NOTIFICATION_BYTES = NOTIFICATION_BYTES

# A Pub/Sub push body or CloudEvent an operator replays (`load_any`) is read up to the pipeline's own bound on a relay's
# text (shared/alerts/relayed.py MAX_WRAPPED_TEXT_BYTES, 4.6 MiB): a relay's message the pipeline reads is never
# refused on replay. Before, 512 KiB: a larger push body was read as a relay's wrapping of itself, and its replay
# published the whole body rather than its message's data.
_MAX_ENVELOPE_BYTES = MAX_WRAPPED_TEXT_BYTES

MESSAGE_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


# A PromQL condition label's value that is a template (PrometheusQueryLanguageCondition.labels: "can be templatized
# by using variables", alert.proto): Prometheus's `{{ $labels.x }}` or the documentation variables' `${...}`.
_OWN_TEMPLATE = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}|\$\{\s*(?:metric|resource)\.labels?\.(\w+)\s*\}")


def _templated(value: str) -> bool:
    return "{{" in value or "${" in value


class IncidentParseError(PermanentError, ValueError):
    """A notification that cannot be turned into an Incident. A retry will not fix it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", code="INVALID_NOTIFICATION")
        self.field = field
        self.reason = reason


class MisroutedCommand(IncidentParseError):
    """An operator's command (`{"command": ..., "command_id": ...}`) on the alerts topic: a sender with
    the topics swapped. Its sender may be waiting on its `command_id` (the CLI listens on the outcomes
    topic for that attribute): the pipeline reads the body as the commands path does (shared/alerts/commands.py
    `sent_command`), whatever keeps it from being a notification, and answers under each id it gives
    (shared/pipeline.py `_reject`), saying what the commands topic would answer it as sent (`problem`)."""

    def __init__(self, command: str, problem: str | None = None, count: int = 0, names: tuple[str, ...] = ()) -> None:
        also = f"; as sent, the commands topic would reject it too: malformed command: {problem}" if problem else ""
        if count:
            # An array of commands: each goes to the commands topic as a message of its own.
            more = ", …" if len(names) > 4 else ""
            said = f" ({', '.join(repr(n[:40]) for n in names[:4])}{more})" if names else ""
            super().__init__("incident", f"is required: this is an array of {count} Runwarden command(s){said}, not a "
                                         "Monitoring notification; none was run: publish each to the commands topic, "
                                         f"one command per message{also}")
            return
        what = f"a Runwarden command ({command[:40]!r})" if command else \
            "a Runwarden command (its schema is runwarden.command/v1)"
        super().__init__("incident", f"is required: this is {what}, not a Monitoring notification; it was not run: "
                                     f"publish it to the commands topic{also}")


# --- Value types ------------------------------------------------------------------------


def _json_kind(value: Any) -> str:
    """The JSON name of a value's type, for error messages a payload author understands."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


# Monitoring sends `started_at` / `ended_at` in epoch seconds (Cloud Monitoring's schema 1.2 example,
# cloud.google.com/monitoring/support/notification-options; every sample in tests/fixtures/samples). A value
# past this (2100-01-01T00:00:00Z) is no incident time: most likely epoch milliseconds from a relay, which
# would put the incident in the year ~58,000 and fail every later step that turns it into a date. The
# console's test notification sends 0.
_LATEST_EPOCH_SECONDS = 4_102_444_800

# A start before 2015-01-01T00:00:00Z is no 1.2 incident's: the earliest sample starts at 1577840461
# (2020-01-01, Google's documented example), and Monitoring's v3 alerting, whose schema this is, is
# younger than that floor (its date UNCONFIRMED; the floor is set years before any sample). 0 is the
# test notification's placeholder; a small number is a relay's default or a count of something else.
_EARLIEST_START = 1_420_070_400


def _epoch_seconds(value: Any) -> int:
    seconds = _integer_seconds(value)
    if not 0 <= seconds < _LATEST_EPOCH_SECONDS:
        hint = " (epoch milliseconds?)" if seconds >= _LATEST_EPOCH_SECONDS else ""
        raise PydanticCustomError(
            "epoch_seconds_range", "expected epoch seconds from 1970 to 2100, got {got}{hint}",
            {"got": seconds, "hint": hint})
    return seconds


# Schema 1.2 sends a JSON integer (the documented example and every sample). A relay that quotes every
# value sends the same number as a string: "1746178794", or "1746178794.0" where it had read the number as
# a float, as JSON parsers that keep one number type do. Read the same as the number; any other string
# (a fraction, an exponent, an ISO time) is refused as the number it spells would be. Whether a relay in
# the field sends the decimal form is UNCONFIRMED: it is read because its meaning is not in doubt.
_SECONDS_STRING = re.compile(r"\s*(\d+)(?:\.0+)?\s*")


def _integer_seconds(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    spelt = _SECONDS_STRING.fullmatch(value) if isinstance(value, str) else None
    if spelt:
        return int(spelt.group(1))
    fraction = isinstance(value, float) and math.isfinite(value)
    got = repr(value) if fraction else _shown(value)
    send = "whole seconds" if fraction else "the time as a JSON number of seconds since 1970"
    raise PydanticCustomError(
        "epoch_seconds", "expected epoch seconds (an integer), got {got}: send {send}, such as 1746178794",
        {"got": got, "send": send})


def _optional_epoch_seconds(value: Any) -> int | None:
    # Open incidents carry `ended_at: null`; one real sample has the string "null".
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "null")):
        return None
    return _epoch_seconds(value)


def _label_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise PydanticCustomError("label_value", "expected a string label value, got {got}", {"got": _json_kind(value)})


def _shown(value: Any) -> str:
    return echoed_quoted(value, 60) if isinstance(value, str) else _json_kind(value)


EpochSeconds = Annotated[int, BeforeValidator(_epoch_seconds)]
OptionalEpochSeconds = Annotated[int | None, BeforeValidator(_optional_epoch_seconds)]
Labels = dict[str, Annotated[str, BeforeValidator(_label_value)]]


class IncidentState(str, Enum):
    OPEN = "open"
    CLOSED = "closed"

    @classmethod
    def _missing_(cls, value: object) -> IncidentState | None:
        # Test notifications say "OPEN"; real ones say "open".
        if isinstance(value, str):
            return next((s for s in cls if s.value == value.strip().lower()), None)
        return None


def _state(value: Any) -> IncidentState:
    try:
        return IncidentState(value)
    except ValueError:
        raise PydanticCustomError(
            "incident_state", "expected 'open' or 'closed', got {got}", {"got": _shown(value)}
        ) from None


ConditionKind = Literal["threshold", "log_match", "absent", "other", ""]

# Monitoring's words for an incident it closed because the policy's condition was deleted or
# modified while the incident was open: "Incident cancelled because the alert policy condition was
# deleted or modified while incident was active.", in `observed_value` and in the summary of the
# real closed Pub/Sub sample (tests/fixtures/samples/monitoring_pubsub_threshold_closed_gce__
# flanksource.json, a payload flanksource/canary-checker captured). Compared lower-case.
CANCELLED_TEXT = "incident cancelled because"

# The notification schema Runwarden reads: "1.2", the version of every real sample and of the
# documented example (cloud.google.com/monitoring/support/notification-options#webhooks, copied in
# tests/fixtures/samples), and "test", the console's test notification (cloudforet-io/tsc#8).
# What earlier versions (1.0, 1.1) held, and what a later one will, is UNCONFIRMED: the copies of
# Google's page found show only 1.2, and no sample of another version is stored. A payload with another version
# (or none: every sample carries one) is read field by field as 1.2 is, so a person can be shown
# it, but nothing is acted on: the same key may mean something else in another schema.
SCHEMA_VERSION = "1.2"
TEST_VERSION = "test"

# MetricThreshold.comparison (google/monitoring/v3/common.proto, ComparisonType): the condition holds
# when `value <op> threshold`, so a value strictly on the other side of the bar shows it stopped
# holding. A value at the bar shows nothing: Monitoring writes the value rounded ("7679.000", "0.835"),
# and one just over a bar of 0.9 reads "0.900". COMPARISON_EQ and COMPARISON_NE have no side to be on.
_CLEAR_SIDE = {
    "COMPARISON_GT": (lambda value, bar: value < bar, "below"),
    "COMPARISON_GE": (lambda value, bar: value < bar, "below"),
    "COMPARISON_LT": (lambda value, bar: value > bar, "above"),
    "COMPARISON_LE": (lambda value, bar: value > bar, "above"),
}


# AlertPolicy.Condition.name: "projects/[PROJECT_ID_OR_NUMBER]/alertPolicies/[POLICY_ID]/conditions/
# [CONDITION_ID]" (google/monitoring/v3/alert.proto).
_POLICY_OF_CONDITION = re.compile(r"(projects/[^/]+/alertPolicies/[^/]+)/conditions/[^/]+")


# AlertPolicy.Condition.EvaluationMissingData.EVALUATION_MISSING_DATA_INACTIVE, by name (ProtoJSON; a number
# in the payload is read as its name, `_enum_named`) or number (google-cloud-monitoring, types/alert.py:
# EVALUATION_MISSING_DATA_INACTIVE = 1), for an Incident made otherwise.
_MISSING_DATA_INACTIVE = frozenset({"EVALUATION_MISSING_DATA_INACTIVE", "1"})


# An SLO condition's time-series selector whose value is the SLO's standing over its compliance period, not its
# service now. An SLO condition's filter is a time-series selector, "SELECTOR_NAME(SLO_NAME)" or
# "SELECTOR_NAME(SLO_NAME, LOOKBACK_PERIOD)" (Cloud Monitoring, "Retrieving SLO data", SLO monitoring API; "the only
# field used in a condition for an SLO is the filter field", "Creating an alerting policy"). select_slo_burn_rate
# measures "how fast you are consuming your error budget" over its lookback ("Alerting on your burn rate"), and
# select_slo_health the SLI's value (Grafana's Cloud Monitoring data source names it "SLI Value", a third-party
# mapping; UNCONFIRMED against Google's list): both are the service now, and are left to act (a burn rate over a
# lookback of an hour at most: a slow burn, over more, is held, `burn_rate_lookback`). The error budget is
# "for a compliance period ... (1 - SLO goal) x (eligible events in compliance period)" ("Alerting on your burn
# rate"), a period of days to weeks: the budget left (select_slo_budget, in events or time; select_slo_budget_fraction,
# Grafana's "SLO Error Budget Remaining"), the whole budget (select_slo_budget_total) and the compliance reached
# (select_slo_compliance, Grafana's "SLO Compliance") say what the period accumulated, not whether the service fails
# now; their incident starts when that standing crossed the bar. Google's page says "Only a subset of the time-series
# selectors available for SLOs can be used in alerting policies" without naming it in the copies read: that these
# four are in it is UNCONFIRMED, but public policies alert on `select_slo_budget_fraction(...)` COMPARISON_LT 0.1
# ("Error budget exhausted", Terraform and Python alert policies found in public repositories), and none is read as
# a present failure here whichever way it is.
_SLO_STANDING = re.compile(r"\bselect_slo_(budget_fraction|budget_total|budget|compliance)\s*\(")


def _slo_standing_selector(condition_filter: str) -> str:
    """The SLO selector of the compliance period's standing `condition_filter` compares (select_slo_budget_fraction,
    ...), or "" when it uses none."""
    found = _SLO_STANDING.search(condition_filter)
    return f"select_slo_{found.group(1)}" if found else ""


# select_slo_burn_rate(SLO_NAME, LOOKBACK_PERIOD): "the select_slo_burn_rate selector also takes a lookback period",
# written as a quoted duration, `select_slo_burn_rate("projects/P/services/S/serviceLevelObjectives/O", "3600s")`,
# whose "Valid time units are "ns", "us" "ms", "s", "m", "h"" (Cloud Monitoring, "Retrieving SLO data", SLO monitoring
# API). Public policies write "1h", "6h", "3600s", "86400s" (Terraform `google_monitoring_alert_policy` examples).
# The burn rate is the error budget spent over that lookback ("how fast you are consuming your error budget", Cloud
# Monitoring, "Alerting on your burn rate"): a mean over the lookback. Over a long one it stays above its bar for up
# to that long after the failures stopped, and crosses it hours after a slow failure began (a slow burn, "6 hours or
# 3 days" in the SRE Workbook's multiwindow alerts, a third-party summary; UNCONFIRMED against Google's own page,
# whose "Types of error-budget alerts" section names fast and slow burns without a bar in the copies read).
_BURN_RATE = re.compile(r'\bselect_slo_burn_rate\s*\(\s*(?:"[^"]*"|[^,()"]*)\s*(?:,\s*"?([^"()]*?)"?\s*)?\)')
_LOOKBACK = re.compile(r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+")
_LOOKBACK_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

# The longest lookback whose burn rate is read as the service now: an hour, the fast burn's (the SRE Workbook's
# fast-burn page is 1 h long, 5 min short; its slow burn 6 h; a third-party summary, UNCONFIRMED against Google's
# page). A burn over an hour stops holding within the hour after the failures stop, which the diagnosis's own check
# that the failures still go on (shared/diagnosis/diagnose.py `_stopped_since`) covers; a longer one does not.
FAST_BURN_LOOKBACK_SECONDS = 3600.0


def burn_rate_lookback(condition_filter: str) -> tuple[str, float | None] | None:
    """A burn-rate condition's lookback as written and in seconds (None when it carries none, or not as a duration
    of the documented units), or None when `condition_filter` is no select_slo_burn_rate."""
    found = _BURN_RATE.search(condition_filter)
    if found is None:
        return None if "select_slo_burn_rate" not in condition_filter else ("", None)
    written = (found.group(1) or "").strip()
    if not _LOOKBACK.fullmatch(written):
        return written, None
    return written, sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _LOOKBACK_PART.findall(written))


# A condition's filter names its metric as `metric.type = "TYPE"` (Cloud Monitoring, "Monitoring
# filters"; `metric.type="compute.googleapis.com/instance/cpu/utilization"` and `metric.type =
# "compute.googleapis.com/instance/network/sent_packets_count"` in the samples).
# A comparison negated by the `NOT` before it (Monitoring filters and the Logging query language) or
# the `-` (Logging's short form) selects every type but that one: its group(1) is set.
# The field at the start of a name only: a log entry's payload field `jsonPayload.metric.type` or
# `jsonPayload.resource.type` is the entry's own, no selection (before, it was read as one, and
# `resource.type="k8s_container" AND jsonPayload.resource.type="cloud_run_revision"` was read as selecting Cloud Run).
_FILTER_METRIC_TYPE = re.compile(r'(\bNOT\s+|-\s*)?(?<![\w.])metric\.type\s*=\s*"([^"]+)"')

# ... and its monitored resource as `resource.type = "TYPE"` (`resource.type="gce_instance"` and
# `resource.type = "gce_instance"` in the samples; a log-match condition's filter is a Logging query,
# whose `resource.type` is its entries' monitored resource, Cloud Logging, "Logging query language").
# Unquoted too (`resource.type=cloud_run_revision`: a type holds letters, digits and `_` alone, which unquoted text may
# hold, Cloud Logging, "Troubleshoot Logging query language"); before, an unquoted type was not read.
_FILTER_RESOURCE_TYPE = re.compile(r'(\bNOT\s+|-\s*)?(?<![\w.])resource\.type\s*=\s*(?:"([^"]+)"|(\w+)(?![^\s)]))')


def _selected_types(pattern: re.Pattern[str], *filters: str) -> set[str]:
    """The types `filters` select by name, leaving out a negated one: `NOT resource.type="k8s_container"`
    selects no k8s_container. A negation of a parenthesised group is not read through here: its types count
    as selected; the group itself is read, or raises doubt, in `_group_doubt` (label_filters: a type it
    excludes is the resource's field `resource.type`)."""
    return {found.group(2) or found.group(3) for text in filters for found in pattern.finditer(text)
            if not found.group(1)}


# --- The notification as Monitoring sends it ----------------------------------------------


class _Wire(BaseModel):
    """Base of every model read from a payload: camelCase or snake_case, extras ignored."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        loc_by_alias=False,          # error paths always use the snake_case field names
        coerce_numbers_to_str=True,  # "threshold_value": 0.5 is as good as "0.5"
    )

    @model_validator(mode="before")
    @classmethod
    def _null_means_absent(cls, data: Any) -> Any:
        # A null optional field gets its default; a null required field is reported missing. A
        # JSON object without a null (most of them) is validated as it is: nothing to drop.
        if isinstance(data, Mapping):
            data = _one_value_each(cls, data)
        if type(data) is dict and None not in data.values():
            return data
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if v is not None}
        return data


# A field given under both its spellings: `started_at` and `startedAt`. Google's own payloads may carry both, with
# one value (the official Pub/Sub CloudEvent fixture MessagePublishedData-duplicatedFields.json, googleapis/
# google-cloudevents testdata: `messageId` and `message_id`, `publishTime` and `publish_time`), and so are read. Two
# different values are no payload Monitoring wrote (schema 1.2 is snake_case: Cloud Monitoring, "Notification
# options", its example; every sample): something rewrote one spelling and not the other, and which one holds is
# unknown. Read as pydantic reads a field given both ways, the camelCase one silently won: a `startedAt` of another
# hour, an `incidentId` that is another incident's, an empty `policyUserLabels` beside Monitoring's own
# `policy_user_labels` of `runwarden: disabled`, and a rollback was written. So neither is used.
_TWO_SPELLINGS = "two_spellings"


def _spelt_alike(first: Any, second: Any) -> bool:
    """The same value, a number and its text alike (`1746178794` and `"1746178794"`, `0.6` and `"0.60"`: the
    parser reads both forms of a number as one, `coerce_numbers_to_str`, `_integer_seconds`, `_number`)."""
    if first == second:
        return True
    if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in (first, second)):
        return False
    texts = str(first).strip(), str(second).strip()
    numbers = _number(texts[0]), _number(texts[1])
    return texts[0] == texts[1] or (None not in numbers and numbers[0] == numbers[1])


def _one_value_each(model: type[BaseModel], data: Mapping[str, Any]) -> Mapping[str, Any]:
    """`data` read under one spelling of each field of `model`: the snake_case one, Monitoring's, where both give
    one value ("0.60" kept, not 0.6 printed anew). Raises `_TWO_SPELLINGS` for the first field both give with
    different values (null included: no end is not an end)."""
    twice = [(name, alias) for name, alias in _respellings(model) if name in data and alias in data]
    for name, alias in twice:
        if not _spelt_alike(data[name], data[alias]):
            raise PydanticCustomError(_TWO_SPELLINGS, "is given twice with different values, as {name} {first} and as "
                                      "{alias} {second}{keys}: which one was sent is unknown, so neither is used",
                                      {"field": name, "name": name, "alias": alias, "first": _spelling_shown(data[name]),
                                       "second": _spelling_shown(data[alias]), "keys": _keys_differing(data[name],
                                                                                                       data[alias])})
    if not twice:
        return data
    aliases = {alias for _, alias in twice}
    return {k: v for k, v in data.items() if k not in aliases}


@functools.cache
def _respellings(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """Each field of `model` whose alias is another spelling of its name, with that alias (read once per model)."""
    return tuple((name, field.alias) for name, field in model.model_fields.items()
                 if field.alias and field.alias != name)


def _spelling_shown(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _keys_differing(first: Any, second: Any) -> str:
    """Where two objects differ, by key, so a long one cut short still shows it ("" for anything else)."""
    if not (isinstance(first, Mapping) and isinstance(second, Mapping)):
        return ""
    keys = [str(k) for k in dict.fromkeys([*first, *second]) if first.get(k) != second.get(k)]
    return f" (they differ at {', '.join(keys[:5])}{', ...' if len(keys) > 5 else ''})" if keys else ""


class Link(_Wire):
    display_name: str = ""
    url: str = ""


# The words a person wrote into a policy (its display name, a condition's, the incident's summary Monitoring builds from
# them), which every line and outcome of the incident quotes: a credential pasted there is redacted as it is read, by
# the one function every text Runwarden writes goes through (shared/redaction.py).
ShownText = Annotated[str, AfterValidator(redacted)]


class Documentation(_Wire):
    content: str = ""
    mime_type: str = ""
    subject: str = ""
    links: tuple[Link, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _plain_text(cls, data: Any) -> Any:
        # The console's "send test notification" payload has `"documentation": "Test documentation"`.
        return {"content": data} if isinstance(data, str) else data


# The condition's enums by number, as google-cloud-monitoring numbers them (types/common.py: ComparisonType,
# Aggregation.Aligner, Aggregation.Reducer; types/alert.py: AlertPolicy.Condition.EvaluationMissingData).
# ProtoJSON writes an enum by its name ("comparison": "COMPARISON_GT" in every sample), but proto-plus, the
# message layer of Google's Python clients, writes numbers by default (Message.to_dict and to_json:
# "use_integers_for_enums ... Default is True"): a condition copied into a payload through it, by a relay
# that adds the policy's condition to what it forwards, reads `"comparison": 3`, `"perSeriesAligner": 23`.
# That Monitoring itself ever sends a number is UNCONFIRMED (no sample does). Read as text, 3 (COMPARISON_LT)
# was no "below", and 23 (ALIGN_PERCENT_CHANGE) no change between periods: a connector's traffic that
# stopped crossing it was judged on its users' clean requests, and a 5xx rise of +50 % read as 50 5xx.
# A number is read as its name here; an unknown one stays a number, which no decision takes for a name.
_COMPARISONS = {0: "COMPARISON_UNSPECIFIED", 1: "COMPARISON_GT", 2: "COMPARISON_GE", 3: "COMPARISON_LT",
                4: "COMPARISON_LE", 5: "COMPARISON_EQ", 6: "COMPARISON_NE"}
_ALIGNERS = {0: "ALIGN_NONE", 1: "ALIGN_DELTA", 2: "ALIGN_RATE", 3: "ALIGN_INTERPOLATE", 4: "ALIGN_NEXT_OLDER",
             10: "ALIGN_MIN", 11: "ALIGN_MAX", 12: "ALIGN_MEAN", 13: "ALIGN_COUNT", 14: "ALIGN_SUM", 15: "ALIGN_STDDEV",
             16: "ALIGN_COUNT_TRUE", 24: "ALIGN_COUNT_FALSE", 17: "ALIGN_FRACTION_TRUE", 18: "ALIGN_PERCENTILE_99",
             19: "ALIGN_PERCENTILE_95", 20: "ALIGN_PERCENTILE_50", 21: "ALIGN_PERCENTILE_05", 23: "ALIGN_PERCENT_CHANGE"}
_REDUCERS = {0: "REDUCE_NONE", 1: "REDUCE_MEAN", 2: "REDUCE_MIN", 3: "REDUCE_MAX", 4: "REDUCE_SUM", 5: "REDUCE_STDDEV",
             6: "REDUCE_COUNT", 7: "REDUCE_COUNT_TRUE", 15: "REDUCE_COUNT_FALSE", 8: "REDUCE_FRACTION_TRUE",
             9: "REDUCE_PERCENTILE_99", 10: "REDUCE_PERCENTILE_95", 11: "REDUCE_PERCENTILE_50", 12: "REDUCE_PERCENTILE_05"}
_MISSING_DATA = {0: "EVALUATION_MISSING_DATA_UNSPECIFIED", 1: "EVALUATION_MISSING_DATA_INACTIVE",
                 2: "EVALUATION_MISSING_DATA_ACTIVE", 3: "EVALUATION_MISSING_DATA_NO_OP"}


def _enum_named(names: Mapping[int, str]) -> Any:
    """A BeforeValidator reading an enum by its name or its number (`names`), the name as written
    (stripped): ProtoJSON's names are upper case, and a name in another case is no name of the enum."""
    def read(value: Any) -> Any:
        if isinstance(value, bool):
            return value            # no enum: the field's own check reports it
        number = value if isinstance(value, int) else None
        if isinstance(value, float) and value.is_integer():
            number = int(value)
        if isinstance(value, str) and value.strip().isdigit():
            number = int(value.strip())
        if number is not None:
            return names.get(number, str(number))
        return value.strip() if isinstance(value, str) else value
    return BeforeValidator(read)


class _Aggregation(_Wire):
    # google/monitoring/v3/common.proto, Aggregation: per_series_aligner, cross_series_reducer and
    # group_by_fields ("The set of fields to preserve when cross_series_reducer is specified";
    # "groupByFields": ["resource.label.revision_name"] in ProtoJSON).
    per_series_aligner: Annotated[str, _enum_named(_ALIGNERS)] = ""
    cross_series_reducer: Annotated[str, _enum_named(_REDUCERS)] = ""
    group_by_fields: tuple[str, ...] = ()
    # Aggregation.alignment_period, a Duration ("alignmentPeriod": "120s" in the documented 1.2 sample): the
    # period a count (ALIGN_DELTA, ALIGN_SUM) is a count over (`alignment_seconds`).
    alignment_period: str = ""


def alignment_seconds(period: str) -> float | None:
    """A Duration as ProtoJSON writes it ("300s", "1.5s": "Generated output always contains 0, 3, 6, or 9
    fractional digits ... followed by the suffix 's'", google/protobuf/duration.proto) in seconds; None when
    absent or in any other form (the count's period is then not known, as before it was read)."""
    match = _DURATION.fullmatch(period.strip())
    return float(match.group(1)) if match else None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)s")


class _Trigger(_Wire):
    """AlertPolicy.Condition.Trigger (google/monitoring/v3/alert.proto): "Specifies how many time series must
    fail a predicate to trigger a condition. If not specified, then a {count: 1} trigger is used"; a oneof of
    `count` ("The absolute number of time series that must fail the predicate") and `percent` ("The
    percentage of time series that must fail the predicate"), google-cloud-monitoring types/alert.py."""

    count: int | None = None
    percent: float | None = None

    def words(self) -> str:
        """The trigger in words when it asks more than one series, "" for the default {count: 1} (or a
        count of 0 or less, which ProtoJSON writes for an unset count: read as the default)."""
        if self.percent is not None and self.percent > 0:
            return f"{self.percent:g} % of its series (trigger.percent {self.percent:g})"
        if self.count is not None and self.count > 1:
            return f"{self.count} of its series (trigger.count {self.count})"
        return ""


class _Periodicity(_Wire):
    """SqlCondition.Minutes, Hourly or Daily (google-cloud-monitoring, types/alert.py): "Number of minutes between
    runs" (5 to 1440), "The number of hours between runs" (1 to 48), "The number of days between runs" (1 to 31)."""

    periodicity: int | None = None


# The seconds one unit of each SqlCondition schedule is (`sql_schedule_seconds`).
_SQL_SCHEDULES = (("minutes", 60.0), ("hourly", 3600.0), ("daily", 86400.0))


class _ConditionBody(_Wire):
    filter: str = ""
    query: str = ""  # MQL, PromQL and SQL conditions carry a query instead of a filter
    # MetricThreshold.comparison (COMPARISON_GT, COMPARISON_LT, ...) and denominator_filter, for a
    # ratio policy (google/monitoring/v3/alert.proto).
    comparison: Annotated[str, _enum_named(_COMPARISONS)] = ""
    denominator_filter: str = ""
    # MetricThreshold.threshold_value, a number ("thresholdValue": 0.9 in the documented example,
    # tests/fixtures/samples): the bar itself, when the incident's `threshold_value` string is absent.
    threshold_value: float | None = None
    # MetricThreshold.forecast_options: "When this field is present, the MetricThreshold condition
    # forecasts whether the time series is predicted to violate the threshold within the
    # forecast_horizon. When this field is not set, the MetricThreshold tests the current value of
    # the timeseries against the threshold." (google-cloud-monitoring, types/alert.py)
    forecast_options: dict[str, Any] | None = None
    # MetricThreshold.aggregations: how each series is aligned and the series combined before the
    # comparison ("aggregations": [{"alignmentPeriod": "120s", "perSeriesAligner": "ALIGN_MIN"}] in
    # the documented 1.2 sample, tests/fixtures/samples). A latency policy's value is a percentile,
    # a mean or a sum depending on them (shared/diagnosis/health_bar.py).
    aggregations: list[_Aggregation] = Field(default_factory=list)
    # MetricThreshold.denominator_aggregations: "Specifies the alignment of data points in individual time
    # series selected by denominatorFilter as well as how to combine the retrieved time series together ...
    # When computing ratios, the aggregations and denominator_aggregations fields must use the same
    # alignment period and produce time series that have the same periodicity and labels" (google/monitoring/
    # v3/alert.proto; google-cloud-monitoring types/alert.py). None when the condition carries none (ProtoJSON
    # omits an empty repeated field): the denominator's series are then not combined at all.
    denominator_aggregations: list[_Aggregation] | None = None
    # MetricThreshold.evaluation_missing_data: "A condition control that determines how metric-threshold
    # conditions are evaluated when data stops arriving" (google-cloud-monitoring, types/alert.py): see
    # Incident.recovery_doubt. An enum: its name in ProtoJSON, its number in other writers.
    evaluation_missing_data: Annotated[str, _enum_named(_MISSING_DATA)] = ""
    # MetricThreshold.trigger: "The number/percent of time series for which the comparison must hold in order
    # for the condition to trigger. If unspecified, then the condition will trigger if the comparison is true
    # for any of the time series" (google-cloud-monitoring, types/alert.py). Every sample says {"count": 1}.
    trigger: _Trigger | None = None
    # A SQL condition's schedule, a oneof (AlertPolicy.Condition.SqlCondition: `minutes`, `hourly`, `daily`, "Schedule
    # the query to execute every so many minutes/hours/days"), whose query "receives all rows received since the last
    # time the query was run" (its `query`, google-cloud-monitoring types/alert.py): see `sql_schedule_seconds`.
    minutes: _Periodicity | None = None
    hourly: _Periodicity | None = None
    daily: _Periodicity | None = None
    # A PromQL condition's `labels`, "Labels to add to or overwrite in the PromQL query result. Label names must be
    # valid. Label values can be templatized by using variables" (AlertPolicy.Condition.PrometheusQueryLanguageCondition
    # .labels, map<string, string>, google/monitoring/v3/alert.proto; the Java client's PrometheusQueryLanguageCondition
    # OrBuilder docs): read as text only (`Incident.query_labels`), whatever a relay put there.
    labels: Any = None
    # A log match's LogMatch.label_extractors, "A map from a label key to an extractor expression ... Each combination
    # of extracted values is treated as a separate rule for the purposes of triggering notifications. Label keys and
    # corresponding values can be used in notifications generated by this condition" (google/monitoring/v3/alert.proto;
    # the Java client's AlertPolicy.Condition.LogMatchOrBuilder docs): read as text only (`Incident.label_extractors`).
    label_extractors: Any = None

    def sql_schedule_seconds(self) -> float | None:
        """The time between a SQL condition's runs in seconds: the span of log rows each run reads. None when the
        condition carries no schedule, or one with no positive periodicity."""
        for field, unit in _SQL_SCHEDULES:
            schedule = getattr(self, field)
            if schedule is not None:
                return schedule.periodicity * unit if schedule.periodicity and schedule.periodicity > 0 else None
        return None


_KNOWN_CONDITION_KEYS = {
    "conditionThreshold", "condition_threshold",
    "conditionAbsent", "condition_absent",
    "conditionMatchedLog", "condition_matched_log",
}


_CAMEL_HUMP = re.compile(r"_([a-z])")


class _Condition(_Wire):
    name: str = ""
    display_name: ShownText = ""
    condition_threshold: _ConditionBody | None = None
    condition_absent: _ConditionBody | None = None
    condition_matched_log: _ConditionBody | None = None
    other: _ConditionBody | None = None  # any other condition kind, e.g. conditionPrometheusQueryLanguage
    # Every condition kind the object carries, by its ProtoJSON name (conditionThreshold, ...): AlertPolicy.
    # Condition's `condition` is a oneof (google/monitoring/v3/alert.proto), so a condition Monitoring wrote
    # carries one; see Incident.condition_kinds.
    kinds: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _collect_kinds(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        keys = [k for k, v in data.items() if str(k).startswith("condition") and isinstance(v, Mapping)]
        # camelCase or snake_case, one kind once (the same kind in both spellings is read as _Wire reads any field).
        kinds = tuple(dict.fromkeys(_CAMEL_HUMP.sub(lambda m: m.group(1).upper(), str(k)) for k in keys))
        data = {**data, "kinds": kinds}
        if _KNOWN_CONDITION_KEYS & data.keys() or not keys:
            return data
        return {**data, "other": data[keys[0]]}

    @property
    def kind(self) -> ConditionKind:
        if self.condition_threshold is not None:
            return "threshold"
        if self.condition_matched_log is not None:
            return "log_match"
        if self.condition_absent is not None:
            return "absent"
        return "other" if self.other is not None else ""

    @property
    def body(self) -> _ConditionBody | None:
        return self.condition_threshold or self.condition_matched_log or self.condition_absent or self.other

    @property
    def filter(self) -> str:
        body = self.body
        return (body.filter or body.query) if body is not None else ""


class _Metric(_Wire):
    type: str = ""
    display_name: str = ""
    labels: Labels = Field(default_factory=dict)


class _Resource(_Wire):
    type: str = ""
    labels: Labels = Field(default_factory=dict)


def _text_labels(value: Any) -> dict[str, str]:
    """A metadata label map's text values alone: a system label's value may also be "Boolean values, or a list of
    strings" (MonitoredResourceMetadata.system_labels, google/api/monitored_resource.proto), which no filter comparison
    here reads. Anything but a map is none: the block is read only to judge a condition's selection, never to refuse a
    notification (before, it was not read at all)."""
    return {str(k): v for k, v in value.items() if isinstance(v, str)} if isinstance(value, Mapping) else {}


class _Metadata(_Wire):
    """The notification's `metadata` (`{system_labels: {}, user_labels: {}}`, tests/fixtures/samples): empty in every
    real sample, placeholders in Cloud Monitoring's own example (`{"labelkey": "labelvalue"}`, "Notification options",
    its schema 1.2 example)."""

    system_labels: Annotated[dict[str, str], BeforeValidator(_text_labels)] = Field(default_factory=dict)
    user_labels: Annotated[dict[str, str], BeforeValidator(_text_labels)] = Field(default_factory=dict)


class _Log(_Wire):
    """An alert's log information, "only populated for log-based alerts": `LogMetadata { extractedLabels }`, "The
    labels extracted from the log" (Cloud Monitoring API v3, `projects.alerts`, the Alert resource's `log`; the
    googleapis Dart and .NET clients' LogMetadata docs). That a schema 1.2 notification carries the block, as
    `log.extracted_labels` or `log.extractedLabels`, is UNCONFIRMED (no sample or doc excerpt shows one): it is read
    where a notification carries it (shared/alerts/extracted_labels.carried), text values alone."""

    extracted_labels: Annotated[dict[str, str], BeforeValidator(_text_labels)] = Field(default_factory=dict)


def _metadata_block(value: Any) -> Any:
    return value if isinstance(value, Mapping) else {}


def _non_empty(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise PydanticCustomError("non_empty", "must be a non-empty string")
    return value


# Monitoring's incident ids are short ("0.nrwotmyokd9n", every sample). Runwarden keys its claims and
# records by the id (with the target and action, percent-quoted: shared/gcp/firestore.document_id),
# and Firestore refuses a document name or an indexed value over 1,500 bytes ("value for
# incident_id is too large to be used in a query", the emulator's answer to a 1,600-character id):
# refused there, the alert failed every delivery and was given up on as a fault of Runwarden's.
MAX_INCIDENT_ID_BYTES = 128


def _key_sized(value: str) -> str:
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > MAX_INCIDENT_ID_BYTES:
        raise PydanticCustomError(
            "incident_id_size", "{size} bytes is longer than any Monitoring incident id (at most {limit}; they look "
            "like '0.nrwotmyokd9n'), and Runwarden keys its records by it", {"size": size, "limit": MAX_INCIDENT_ID_BYTES})
    return value


def _incident_id(value: Any) -> Any:
    """The id without the whitespace around it, refused when whitespace or an invisible character is
    inside: the one reading every entry point shares (shared/gcp/identifiers.stripped_incident_id)."""
    if not isinstance(value, str):
        return value
    try:
        return stripped_incident_id(value)
    except IncidentIdCharacter as e:
        raise PydanticCustomError("incident_id_character", INCIDENT_ID_CHARACTER, e.context) from None


def _not_a_command_label(value: str) -> str:
    """An incident id beginning "command:" is refused: it is the incident an operator's command's writes carry
    (shared/remediation/guardrails.command_incident), and read as an alert's it keyed that command's claims and
    timeline (the alert answered as a duplicate of the command's rollback, their lines mixed). Monitoring writes none
    so (every sample: letters, digits and '.'); a relayed or hand-made notification may."""
    if value.lower().startswith(COMMAND_INCIDENT_PREFIX):
        raise PydanticCustomError(
            "incident_id_command", "{id} begins 'command:', the incident Runwarden gives an operator's command's writes "
            "(command:COMMAND_ID), which no Monitoring incident id does (they look like '0.nrwotmyokd9n'): read as an "
            "alert's, it would share that command's claims and timeline", {"id": echoed_quoted(value, 60)})
    return value


def _no_credential(value: str) -> str:
    """An incident id holding a credential's shape is refused: it keys every record and labels every line of the
    incident, so it would be written everywhere as sent, and redacted it would be another id (two such incidents one).
    Monitoring writes none so (every sample: letters, digits and '.'); a relayed or hand-made notification may. The
    rejection, like every one, keeps the message with its credentials redacted, and names no incident
    (shared/alerts/received.py `_readable_id`)."""
    if redacted(value) != value:
        raise PydanticCustomError(
            "incident_id_credential", "holds a credential (shared/redaction.py), which no Monitoring incident id does "
            "(they look like '0.nrwotmyokd9n'): it would be written on every line of the incident")
    return value


class _IncidentWire(_Wire):
    # Field order is the order errors are reported in: identity first.
    incident_id: Annotated[str, BeforeValidator(_non_empty), BeforeValidator(_incident_id),
                           AfterValidator(_key_sized), AfterValidator(_not_a_command_label),
                           AfterValidator(_no_credential)]
    state: Annotated[IncidentState, BeforeValidator(_state)]
    started_at: EpochSeconds
    ended_at: OptionalEpochSeconds = None
    scoping_project_id: str = ""
    url: str = ""
    severity: str = ""
    summary: ShownText = ""
    policy_name: ShownText = ""
    policy_user_labels: Labels = Field(default_factory=dict)
    condition_name: ShownText = ""
    condition: _Condition = Field(default_factory=_Condition)
    # The policy's conditions, when something lists them beside the one `condition` (AlertPolicy.conditions,
    # google/monitoring/v3/alert.proto): no schema-1.2 notification seen carries the list (Cloud Monitoring's
    # example, every sample), a relay that embeds the policy may. See Incident.listed_conditions.
    conditions: list[_Condition] | None = None
    metric: _Metric = Field(default_factory=_Metric)
    resource: _Resource = Field(default_factory=_Resource)
    metadata: Annotated[_Metadata, BeforeValidator(_metadata_block)] = Field(default_factory=_Metadata)
    log: Annotated[_Log, BeforeValidator(_metadata_block)] = Field(default_factory=_Log)
    observed_value: str | None = None
    threshold_value: str | None = None
    documentation: Documentation | None = None


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class _NotificationWire(_Wire):
    incident: _IncidentWire
    # " 1.2 " (a relay's or a hand's whitespace) is 1.2: it was escalated as another schema, "' 1.2 ', not 1.2".
    version: Annotated[str, BeforeValidator(_stripped)] = ""


# --- The domain model -----------------------------------------------------------------


class Incident(BaseModel):
    """One Monitoring incident, as one notification describes it (open or closed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_id: str = Field(min_length=1)
    # The id as the notification wrote it when that is not how Runwarden keys it (its letters in capitals:
    # shared/gcp/identifiers.folded_incident_id), "" otherwise: see `id_note`.
    incident_id_as_sent: str = ""
    state: IncidentState
    version: str = ""                 # "1.2"; "test" for the console's test notification
    policy_name: str = ""             # the policy's display name, not its resource name
    condition_name: str = ""
    # The `condition` object's own displayName ("" when it carries none): in every sample the same as
    # `condition_name`; see `condition_doubt`.
    condition_display_name: str = ""
    # The `condition` object's resource name, "projects/P/alertPolicies/ID/conditions/ID" ("" when it
    # carries none): see `policy_resource`.
    condition_resource_name: str = ""
    condition_filter: str = ""
    condition_kind: ConditionKind = ""
    # Every condition kind the `condition` object carries (conditionThreshold, conditionAbsent, ...): one, or
    # none, from Monitoring; see `condition_doubt`.
    condition_kinds: tuple[str, ...] = ()
    # A PromQL condition's `labels` (`_ConditionBody.labels`), those whose name and value are text: {} for any other.
    query_labels: dict[str, str] = Field(default_factory=dict)
    # A log match's labelExtractors (`_ConditionBody.label_extractors`): label key -> extractor expression.
    label_extractors: dict[str, str] = Field(default_factory=dict)
    # The (resource name, displayName) of each condition a `conditions` list names, () when there is none:
    # more than one, or one that is not the carried condition, puts its bar in doubt (`condition_doubt`).
    listed_conditions: tuple[tuple[str, str], ...] = ()
    comparison: str = ""              # COMPARISON_GT, COMPARISON_LT, ... ("" when not a threshold)
    denominator_filter: str = ""      # a ratio policy's denominator ("" otherwise)
    forecast: bool = False            # a forecast condition: the threshold is predicted to be crossed, not crossed
    # The condition's aggregation, its steps chained (`_chained`; "" when it carries none): ALIGN_PERCENTILE_99, ...
    aligner: str = ""
    reducer: str = ""
    # Its first step's alignment period in seconds (None when it carries none, or not as a Duration): what a
    # count of 5xx per period (ALIGN_DELTA, ALIGN_SUM) is counted over (shared/diagnosis/health_bar.py).
    alignment_seconds: float | None = None
    evaluation_missing_data: str = ""   # the condition's EvaluationMissingData ("" when it carries none)
    # A SQL condition's time between runs in seconds, the span of log rows each run reads (`_ConditionBody.
    # sql_schedule_seconds`; None when it carries no schedule, or is no SQL condition).
    sql_schedule_seconds: float | None = None
    # The fields the condition's cross-series reducer keeps (its last reducing step's groupByFields; () when it
    # reduces none away or carries no aggregation): whether its series are the service's or finer.
    group_by: tuple[str, ...] = ()
    # The condition's trigger in words when it fires on more than one series (`_Trigger.words`), "" otherwise.
    trigger: str = ""
    # A ratio condition's denominatorAggregations, chained as its aggregations are (`_chained`): its aligner,
    # reducer and the fields that reducer keeps; `denominator_aggregated` False when the condition carries no
    # denominatorAggregations (its denominator's series not combined: every label kept).
    denominator_aligner: str = ""
    denominator_reducer: str = ""
    denominator_group_by: tuple[str, ...] = ()
    denominator_aggregated: bool = False
    metric_type: str = ""             # "" for log-match conditions
    metric_display_name: str = ""
    metric_labels: dict[str, str] = Field(default_factory=dict)
    # A log match's extracted labels as the Alert resource keeps them, `log.extracted_labels` (`_Log`): {} when the
    # notification carries no `log` block.
    log_labels: dict[str, str] = Field(default_factory=dict)
    resource_type: str = ""
    resource_labels: dict[str, str] = Field(default_factory=dict)
    # The notification's `metadata` labels, text values alone, keyed `system_labels.<key>` and `user_labels.<key>`
    # (label_filters.metadata_tests): read only to judge a condition selecting by one (`_metadata_doubt`).
    metadata_labels: dict[str, str] = Field(default_factory=dict)
    started_at: int                   # epoch seconds
    ended_at: int | None = None       # epoch seconds; None while open
    observed_value: str | None = None  # a string; prose on a cancelled incident
    threshold_value: str | None = None
    condition_threshold: float | None = None   # the condition's own thresholdValue, as it carries it
    # Whether the condition carried that thresholdValue itself (False: absent, read as ProtoJSON's omitted 0).
    condition_threshold_stated: bool = False
    documentation: Documentation | None = None
    policy_user_labels: dict[str, str] = Field(default_factory=dict)
    summary: str = ""
    url: str = ""
    scoping_project_id: str = ""
    severity: str = ""

    @property
    def is_open(self) -> bool:
        return self.state is IncidentState.OPEN

    @property
    def named_workloads(self) -> tuple[tuple[str, str], ...]:
        """For a query condition: the (label, value) pairs its application metric or its Cloud Run sidecar's
        prometheus_target names a service by (shared/alerts/query_names.workload_names); told, never read."""
        if self.condition_kind != "other":
            return ()
        return workload_names(self.condition_filter,
                              self.resource_labels if self.resource_type == "prometheus_target" else None)

    @property
    def id_note(self) -> str:
        """What a person must know when the id was read lower-cased, "" when it came so: another incident whose
        id differs from it only in case is taken for this one (shared/gcp/identifiers.folded_incident_id)."""
        if not self.incident_id_as_sent:
            return ""
        return (f"incident id {quoted(self.incident_id_as_sent)} was read as {self.incident_id!r}: every Monitoring "
                "incident id seen is lowercase, and an id differing only in case is taken for the same incident, never acted on "
                "twice; if two incidents' ids differ only in case, the later one was not handled on its own")

    @property
    def is_test(self) -> bool:
        return self.version == TEST_VERSION

    @property
    def schema_known(self) -> bool:
        """The notification says it is of the schema Runwarden reads (SCHEMA_VERSION), or a test one."""
        return self.version in (SCHEMA_VERSION, TEST_VERSION)

    @property
    def policy_resource(self) -> str:
        """The alert policy's resource name, "projects/P/alertPolicies/ID", from its condition's
        ("projects/P/alertPolicies/ID/conditions/ID" in every sample; AlertPolicy.Condition.name,
        google/monitoring/v3/alert.proto), or "" when the notification carries none. Unlike
        `policy_name` (a display name, which a person may edit while an incident is open) it names one
        policy for good."""
        found = _POLICY_OF_CONDITION.fullmatch(self.condition_resource_name.strip())
        return found.group(1) if found else ""

    @property
    def is_ratio(self) -> bool:
        """The condition's value is a share of requests: a threshold condition with a
        denominatorFilter (MetricThreshold.denominator_filter, "the threshold is applied to the ratio
        of the numerator to the denominator", google/monitoring/v3/alert.proto), or a query condition
        whose query is the 5xx share of a service's requests (`ratio_query`: the 5xx, or one 5xx code, of
        request_count over all of the same requests; a 4xx share, another service's or the project's
        requests under the quotient, a recording rule, a `bool` comparison are not). Nothing else is read as one: a fractional
        threshold without a denominator is a rate or a count (0.5 5xx a second), whose unit the
        notification does not state when it carries no aggregation."""
        if self.denominator_filter.strip():
            return True
        return self.condition_kind == "other" and ratio_query(self.condition_filter)

    @property
    def measured_metric_type(self) -> str:
        """The metric the condition compares: the notification's `metric.type`, else (a relay that dropped it, a
        template that blanked it) the one metric type the condition's filter selects by name, "" when neither says
        one (a log match, a query, a filter on several types)."""
        if self.metric_type:
            return self.metric_type
        named = _selected_types(_FILTER_METRIC_TYPE, self.condition_filter)
        return next(iter(named)) if len(named) == 1 else ""

    @property
    def slo_standing(self) -> str:
        """The SLO selector the condition compares when its value is the SLO's standing over its compliance period
        (the error budget left, the whole budget, the compliance reached: `_SLO_STANDING`), "" otherwise."""
        return _slo_standing_selector(self.condition_filter)

    @property
    def burn_lookback(self) -> tuple[str, float | None] | None:
        """A burn-rate condition's lookback, as written and in seconds (`burn_rate_lookback`), None for any other."""
        return burn_rate_lookback(self.condition_filter)

    @property
    def start_unknown(self) -> bool:
        """`started_at` is no time an incident of schema 1.2 began (0, or before 2015): see _EARLIEST_START."""
        return self.started_at < _EARLIEST_START

    @property
    def condition_doubt(self) -> str:
        """Why the notification's parts may describe different conditions of its policy, or "" when they
        agree. A policy has one to six conditions, combined by AND (all met, "even if they are met on
        completely different resources"), OR or AND_WITH_MATCHING_RESOURCE (AlertPolicy.conditions and
        ConditionCombinerType, google/monitoring/v3/alert.proto), and a notification carries one
        `condition`, one `condition_name`, one `metric` and one `observed_value`/`threshold_value`.
        Which condition those name in a policy of several, and whether all of them name the same one, is
        UNCONFIRMED: no sample comes from such a policy, and the payload has no combiner nor count of
        conditions (tests/fixtures/samples). In every sample they agree: `condition_name` is the
        condition's displayName, and the notification's metric and resource type are the ones its filter
        names. When they do not, the bar, the comparison and the value may each be another condition's: a
        request_count metric judged at a latency condition's 500 ms read as "500 5xx", so nothing of the
        condition is used (no `healthy`, no recovery, no rule's bar): the person sees why."""
        named, shown = self.condition_name.strip(), self.condition_display_name.strip()
        if len(self.condition_kinds) > 1:
            # AlertPolicy.Condition's `condition` is a oneof (google/monitoring/v3/alert.proto): ProtoJSON writes
            # one member of it. Two came through something that merged or rewrote the condition (a relay, a
            # template), and the kind read (the threshold first) may not be the one that fired.
            return (f"the notification's condition {quoted(shown or named)} carries {len(self.condition_kinds)} "
                    f"condition kinds ({', '.join(self.condition_kinds)}), where a condition holds one (its "
                    "`condition` oneof): which one fired, and so its bar and value, is unknown")
        if named and shown and named != shown:
            return (f"the notification names condition {quoted(named)} but carries condition {quoted(shown)}: "
                    "its policy may have several conditions, and which one its bar and value are is unknown")
        listed = self._listed_doubt(shown or named)
        if listed:
            return listed
        named_types = _selected_types(_FILTER_METRIC_TYPE, self.condition_filter, self.denominator_filter)
        if self.metric_type and named_types and self.metric_type not in named_types:
            return (f"the notification's metric {self.metric_type} is not the one its condition "
                    f"{quoted(shown or named)} filters on ({', '.join(sorted(named_types))}): its policy may have "
                    "several conditions, and which one its bar and value are is unknown")
        resource_types = _selected_types(_FILTER_RESOURCE_TYPE, self.condition_filter, self.denominator_filter)
        if self.resource_type and resource_types and self.resource_type not in resource_types:
            return (f"the notification's resource is a {self.resource_type}, not the "
                    f"{' or '.join(sorted(resource_types))} its condition {quoted(shown or named)} filters on: its "
                    "policy may have several conditions (an AND policy's are met \"even if they are met on completely "
                    "different resources\"), and which one its resource, bar and value are is unknown")
        return (self._resource_label_doubt(shown or named) or self.labels_overwritten or self.labels_doubt
                or self.threshold_disagreement)

    @property
    def labels_doubt(self) -> str:
        """Why the policy's user labels or the resource's metadata labels name another service (or connector) than the
        resource whose series crossed, or "" (shared/alerts/named_elsewhere.py). Before, such a label was never read:
        a policy labelled `service: checkout` whose condition's series was payments' rolled payments back."""
        return named_elsewhere(self.resource_type, self.resource_labels, self.policy_user_labels,
                               self.metadata_labels, self.policy_name)

    def _listed_doubt(self, condition: str) -> str:
        """Why the policy's conditions, as a `conditions` list names them, put the carried one's bar in doubt,
        or "": a policy of several (combined by AND, OR or AND_WITH_MATCHING_RESOURCE, which the list does not
        say; alert.proto), or a list whose one condition is not the carried one. Which condition a notification
        of such a policy carries the bar and value of is UNCONFIRMED (see `condition_doubt`)."""
        listed = self.listed_conditions
        if len(listed) > 1:
            names = ", ".join(quoted(shown or name, 60) for name, shown in listed[:6])
            return (f"the notification lists {len(listed)} conditions of its policy (`conditions`: {names}) and "
                    f"carries one, {quoted(condition)}: an AND policy's are met \"even if they are met on completely "
                    "different resources\", and which one its bar and value are is unknown")
        if listed and not self._is_carried(*listed[0]):
            name, shown = listed[0]
            return (f"the notification lists its policy's condition as {quoted(shown or name)}, not the condition "
                    f"it carries, {quoted(condition)}: which one its bar and value are is unknown")
        return ""

    def _is_carried(self, name: str, shown: str) -> bool:
        """A listed condition is the carried one: the same resource name, or, where either lacks one, the same
        displayName."""
        if name and self.condition_resource_name:
            return name == self.condition_resource_name.strip()
        return bool(shown) and shown == (self.condition_display_name or self.condition_name).strip()

    def _resource_label_doubt(self, condition: str) -> str:
        """Why the notification's resource is not one its condition's filter selects by a label (an OR
        policy of one condition per service, its notification carrying the other service's condition, or
        a relay that rewrote the labels), or "". Its bar, comparison and value are then another resource's:
        a `healthy` judged at backend's bar on frontend, a write on frontend for a condition that may be
        another's forecast. Every comparison shared/alerts/label_filters.py reads counts: an equality, a
        `one_of`, `starts_with`, `ends_with`, `has_substring`, `monitoring.regex.full_match`, a Logging
        `=~` or `:` (has), and `!=`, `!~`, a `NOT` or `-` before a comparison, and `NOT (...)` over alternatives
        (which exclude). A ratio's denominatorFilter is read the same way, on its own (its selections are no
        alternatives to the numerator's): "the threshold is applied to the ratio of the numerator to the
        denominator" (MetricThreshold.denominator_filter, google/monitoring/v3/alert.proto), so a denominator that
        does not select the notification's resource (another service's requests, a metadata label the notification
        does not carry) makes the ratio no share of that resource's requests. Before, only the numerator was
        read, and such a ratio's bar was lent to the resource; then the aggregation (`_aggregation_doubt`)."""
        several = ": its policy may have several conditions, and which one its bar and value are is unknown"
        whose = f"its condition {quoted(condition)}"
        unquoted, fold_case = self.condition_kind != "other", self.condition_kind == "log_match"
        doubt = (self._label_doubt(self._selected_by_condition(), whose, several)
                 or self._metadata_doubt(self.condition_filter, whose, several)
                 or self._group_doubt(self.condition_filter, unquoted, fold_case, whose, several))
        if doubt or not unquoted or not self.denominator_filter.strip():
            return doubt or self._aggregation_doubt(condition)
        whose = f"the denominatorFilter of its condition {quoted(condition)}"
        text = self.denominator_filter
        return (self._label_doubt(label_tests(text), whose, several) or self._metadata_doubt(text, whose, several)
                or self._group_doubt(text, True, False, whose, several) or self._aggregation_doubt(condition))

    def _aggregation_doubt(self, condition: str) -> str:
        """Why the condition's series is several resources' together, not the one the notification names, or "": its
        cross-series reduction keeps no label naming one resource of its type (`_PLACES`), or its query writes one, and
        its filter does not select the notification's value of that label by equality. "Fields not specified in
        group_by_fields are aggregated away" (Aggregation.group_by_fields, google/monitoring/v3/common.proto):
        REDUCE_SUM grouped by nothing is every selected service's 5xx together. A query condition is read the same
        way, and its labels written by the query (a vector matching, `label_replace`) too
        (shared/alerts/query_grouping.py). A reduction keeping the service's name but not its location or project is
        read as the named service's (a known limit, `_PLACES`). Such a notification names no service when Monitoring
        drops the labels aggregated away (then `alert_target` rejects it, asking for the grouping); whether Monitoring
        ever still names one is UNCONFIRMED (no sample), and a relay or template may add them: under either reading
        the bar is not the named service's, so nothing of the condition is lent to it (no write, no `healthy`).
        Before, the named service was acted on. First, a query whose value is made of another resource's series too
        (`_combined_doubt`)."""
        combined = self._combined_doubt(condition)
        if combined:
            return combined
        for labels, across in _PLACES.get(self.resource_type, ()):
            unkept = self._aggregated_across(labels)
            named = {label: value for label, value in self.resource_labels.items() if label in labels}
            if unkept is None or any(self._selects_alone(label, value) for label, value in named.items()):
                continue
            how, aggregated = unkept
            shown_named = ", ".join(f"{label} {quoted(value, 60)}" for label, value in named.items()) or "none of them"
            verb = "aggregates {} series across {}" if aggregated else "may name {} series of other {}"
            whose = "every selected one's together" if aggregated else "those of whatever its labels were made from"
            return (f"its condition {quoted(condition)} {verb.format(self.resource_type, across)} ({how}) "
                    f"and selects no one of them alone by equality: its value and bar are {whose}, not those of "
                    f"the resource the notification names ({shown_named})")
        return ""

    def _combined_doubt(self, condition: str) -> str:
        """Why a query condition (PromQL, MQL) on a resource Runwarden acts on (a Cloud Run revision, a VPC Access
        connector, a Cloud SQL database) measures more than that resource, or "": its value is made of another
        resource's series too (query_names.other_series: a 5xx rate plus a Cloud SQL instance's backends, a connector's
        instances plus Cloud SQL's `database_up`, an MQL `join` of a cloud_run_revision table with a cloudsql_database
        one). Its bar and value are then the sum, quotient or join's, not the resource's, however the resource is
        selected, so nothing of the condition is lent to it (no write, no `healthy`). Before, such a query was read as
        selecting the service alone, and a failing deploy was rolled back on it; on a connector's alert, the connector
        was scaled on it."""
        if self.condition_kind != "other" or "conditionSql" in self.condition_kinds:
            return ""
        others = other_series(self.condition_filter, self.resource_type)
        if not others:
            return ""
        named = ", ".join(quoted(other, 80) for other in others[:4])
        return (f"its condition {quoted(condition)} reads {self.resource_type} series and makes its value of another "
                f"resource's series too ({named}): its value and bar are not those of the resource the notification "
                "names alone")

    def _aggregated_across(self, identifying: frozenset[str]) -> tuple[str, bool] | None:
        """How the condition's series keeps none of the `identifying` labels, and whether by aggregating (else by
        rewriting labels), or None: a threshold's cross-series reducer grouping by none of them ("Fields not specified
        in group_by_fields are aggregated away", Aggregation), a PromQL or MQL query's part keeping none
        (shared/alerts/query_grouping.py)."""
        if self.condition_kind == "threshold":
            if self.reducer in ("", "REDUCE_NONE") or any(
                    _kept_label(field) in identifying | {"*"} for field in self.group_by):
                return None
            kept = f"keeping {', '.join(self.group_by)} alone" if self.group_by else "grouped by nothing"
            return (f"{self.reducer} {kept}: \"Fields not specified in group_by_fields are aggregated away\", "
                    "Aggregation", True)
        if self.condition_kind != "other" or "conditionSql" in self.condition_kinds:
            return None
        query = self.condition_filter
        unkept = mql_drops(query, identifying) if is_mql(query) else promql_drops(query, identifying)
        return (f"{unkept.how}: {unkept.why}", unkept.aggregated) if unkept is not None else None

    def _selects_alone(self, label: str, value: str) -> bool:
        """The condition selects the resource whose `label` is `value` and no other: its filter's comparisons of the
        label each an equality to that value alone, or its query's (query_names.selects_alone)."""
        if self.condition_kind == "other":
            return selects_alone(self.condition_filter, label, value)
        selecting = [t for t in self._selected_by_condition() if t.label == label and not t.negated]
        return bool(selecting) and all(t.how == "equals" and t.values == (value,) for t in selecting)

    def _label_doubt(self, tests: list[LabelTest], whose: str, several: str) -> str:
        """Why the resource-label comparisons `tests` of one filter (`whose`) may not select the notification's
        resource, or "" (see `_resource_label_doubt`)."""
        by_label: dict[str, list[LabelTest]] = {}
        for test in tests:
            by_label.setdefault(test.label, []).append(test)
        fields = self._resource_fields
        for label, group in by_label.items():
            value = fields.get(label, "")
            failed = unselected(group, value) if value else None
            if failed and any(t.how == UNREAD for t in failed):
                return (f"{whose} compares {label} with {shown(failed)}, which may "
                        f"not select the notification's resource ({label} {quoted(value, 60)}): \"Unquoted text must "
                        "not contain any special characters\" (Cloud Logging), and what it selects is not read"
                        + several)
            if failed and any(t.passes(value) is None for t in failed):
                return (f"{whose} compares {label} with {shown(failed)}, which Runwarden does "
                        f"not read for the notification's resource ({label} {quoted(value, 60)}: a regular expression "
                        "not read, or a value differing only in case), so it may not select it" + several)
            if failed:
                return (f"the notification's resource has {label} {quoted(value, 60)}, not the {shown(failed)} "
                        f"{whose} filters on" + several)
        return ""

    @property
    def resource_unselected(self) -> str:
        """How the notification's resource has a label its condition's own selection rules out (its filter's, or a
        query's equality matchers on Cloud Run revisions' series: `_selected_by_condition`), or "": the condition
        selects `service_name="backend"` and the resource says checkout. Monitoring measured only series the condition
        selects, so such a resource's labels were written by something else: a PromQL condition's `labels`, "Labels to
        add to or overwrite in the PromQL query result" (AlertPolicy.Condition.PrometheusQueryLanguageCondition.labels,
        google/monitoring/v3/alert.proto; whether they reach the incident's resource labels is UNCONFIRMED), a relay or
        template, or another condition of an OR policy carried beside this resource (UNCONFIRMED, `condition_doubt`).
        Only a comparison read as excluding the value counts here (one not read may select it: `condition_doubt` says
        so); the resource's labels are no longer taken as what the alert is about under any of those readings."""
        fields = self._resource_fields
        by_label: dict[str, list[LabelTest]] = {}
        for test in self._selected_by_condition():
            by_label.setdefault(test.label, []).append(test)
        for label, group in by_label.items():
            value = fields.get(label, "")
            failed = unselected(group, value) if value else None
            if failed and all(t.passes(value) is False for t in failed):
                condition = quoted(self.condition_display_name.strip() or self.condition_name.strip())
                return (f"its resource has {label} {quoted(value, 60)}, which its condition {condition} does not "
                        f"select ({label} {shown(failed)})")
        return ""

    @property
    def labels_overwritten(self) -> str:
        """How a PromQL condition's `labels` set a label naming the notification's resource (`query_labels`; the
        type's labels, label_keys.RESOURCE_LABELS) to the value the resource carries, or to a template of other labels,
        or "". "Labels to add to or overwrite in the PromQL query result" (PrometheusQueryLanguageCondition.labels,
        alert.proto): whether the incident's resource carries the result's labels before or after they are
        overwritten is UNCONFIRMED (no sample). Read after, `service_name: "checkout"` names every service's series
        checkout; read before, the resource is what Monitoring measured. A value the resource does not carry was not
        applied to it (the resource is as measured, under either reading), nor is one whose query selects the resource
        alone (`_selects_alone`: its series are that resource's); one it does carry, or a template (other than the
        label's own, `{{$labels.service_name}}` or `${metric.label.service_name}`), leaves which resource alerted
        unknown. The field's comment says its values "can be templatized by using variables", pointing to the
        documentation variables page, whose variables are written `${...}`; Prometheus rules write `{{ $labels.x }}`:
        which of the two Monitoring expands in these labels is UNCONFIRMED, so both are templates here."""
        naming = label_keys.RESOURCE_LABELS.get(self.resource_type, ())
        for label, value in self.query_labels.items():
            carried = self.resource_labels.get(label, "")
            if label not in naming or not carried or self._selects_alone(label, carried):
                continue   # a query selecting that resource alone measured its series, whatever the label says
            own = _OWN_TEMPLATE.fullmatch(value.strip())
            if (own and (own.group(1) or own.group(2)) == label) or (not _templated(value) and value != carried):
                continue
            return (f"its PromQL condition's `labels` set {label} to {quoted(value, 60)} (\"Labels to add to or "
                    f"overwrite in the PromQL query result\") and its resource has {label} {quoted(carried, 60)}: "
                    "whether that is the series Monitoring measured or the label the policy wrote is unknown")
        return ""

    @property
    def selected_names(self) -> dict[str, tuple[str, ...]]:
        """The values the condition selects by equality (`=`, `one_of`; never negated) for each resource label, as
        `_selected_by_condition` reads them: what a person is told the alert may be about."""
        found: dict[str, tuple[str, ...]] = {}
        for test in self._selected_by_condition():
            if test.how in ("equals", "one_of") and not test.negated:
                found[test.label] = tuple(dict.fromkeys(found.get(test.label, ()) + test.values))
        return found

    def _metadata_doubt(self, text: str, whose: str, several: str) -> str:
        """Why the selection by a metadata label of a filter `text` (`metadata.system_labels."state" = "ACTIVE"`,
        label_filters.metadata_selections) may not select the notification's resource, or "": read against the
        notification's own `metadata` when it carries the label (Cloud Monitoring's example notification carries the
        block, with placeholders; every real sample carries it empty), else not read, and doubted (before,
        no selection by metadata was read, and its bar was lent to any resource)."""
        selections = metadata_selections(text)
        if not selections:
            return ""
        tests = metadata_tests(text, fold_case=self.condition_kind == "log_match") \
            if self.condition_kind != "other" else None
        said = ", ".join(dict.fromkeys(selections))
        if tests is None:
            return (f"{whose} selects by metadata label {said} in a form Runwarden does not "
                    "read: it may select another resource" + several)
        by_label: dict[str, list[LabelTest]] = {}
        for test in tests:
            by_label.setdefault(test.label, []).append(test)
        for label, group in by_label.items():
            value = self.metadata_labels.get(label, "")
            if not value:
                return (f"{whose} selects by metadata label {label} ({shown(group)}), which "
                        "the notification's `metadata` does not carry: it may select another resource" + several)
            if unselected(group, value):
                return (f"the notification's resource has metadata label {label} {quoted(value, 60)}, not the "
                        f"{shown(group)} {whose} filters on" + several)
        return ""

    def _group_doubt(self, text: str, unquoted: bool, fold_case: bool, whose: str, several: str) -> str:
        """Why a `NOT (a AND b ...)` group of a filter `text` excludes the notification's resource, or may
        (label_filters.excluding_groups): it excludes a resource that passes every comparison in it. Before, such a
        group was not read at all, and its condition's bar was lent to the very resource it excludes."""
        fields = self._resource_fields
        for group in excluding_groups(text, unquoted, fold_case) if unquoted else ():
            said = " and ".join(f"{t.label} {t.shown}" for t in group)
            shown_labels = ", ".join(f"{t.label} {quoted(fields.get(t.label, ''), 60)}"
                                     for t in dict((t.label, t) for t in group).values())
            verdict = excluded(group, fields)
            if verdict is True:
                return (f"the notification's resource has {shown_labels}, which {whose} "
                        f"excludes (NOT of {said})" + several)
            if verdict is None:
                return (f"{whose} excludes a resource of {said} (NOT of them together), "
                        f"and whether the notification's resource ({shown_labels}) is one is not read" + several)
        for group in unread_groups(text, unquoted) if unquoted else ():
            return (f"{whose} negates a group Runwarden does not read, {quoted(group, 120)}: "
                    "whether it excludes the notification's resource is not read (label_filters.unread_groups)"
                    + several)
        return ""

    @property
    def _resource_fields(self) -> dict[str, str]:
        """The notification's resource labels and its type (under `resource.type`, label_filters.RESOURCE_TYPE,
        no label's name: a label name holds no `.`), as a condition's filter compares them."""
        return {**self.resource_labels, RESOURCE_TYPE: self.resource_type} if self.resource_type else \
            dict(self.resource_labels)

    def _selected_by_condition(self) -> list[LabelTest]:
        """The resource-label comparisons the condition makes: its filter's (shared/alerts/label_filters.py), and a
        query condition's equality matchers on Cloud Run revisions' series (a Cloud Run metric, or any metric of
        `monitored_resource="cloud_run_revision"`: shared/alerts/query_names.py), where a query
        that selects `service_name="backend"` notified on frontend's revision is the same disagreement."""
        tests = label_tests(self.condition_filter, unquoted=self.condition_kind != "other",
                            fold_case=self.condition_kind == "log_match")
        if self.condition_kind == "other":
            names = query_names(self.condition_filter)
            tests += [LabelTest(label, "equals", values) for label, values in
                      (("service_name", names.services), ("location", names.locations), ("project_id", names.projects))
                      if values]
        return tests

    @property
    def recovery_shown(self) -> str:
        """What in a CLOSED notification shows its condition stopped holding, or "" when nothing does.

        A CLOSED alone is not recovery: Monitoring also closes an incident when a snooze is applied to
        its policy ("When you apply a snooze to a metric-based or SQL-based alerting policy, Monitoring
        also closes all alerts related to the alerting policy", Cloud Monitoring, "Snoozes"; "A Snooze
        will prevent any alerts from being opened, and close any that are already open", the Snooze
        resource, projects.snoozes), when its data stops ("If an alert policy that was active has no
        data for this long, any open incidents will close", AlertStrategy.auto_close), when its policy
        is edited or deleted (cancelled, `is_cancelled`), or by hand. Whether those closings send a
        CLOSED notification, and which `observed_value` it carries, is UNCONFIRMED; the summary does
        not tell them apart (the real cancelled sample says "returned to normal with a value of
        Incident cancelled ..."). So a CLOSED shows recovery only by Monitoring's own measurement: a
        schema-1.2 threshold condition (not a forecast, whose value is a prediction) whose
        `observed_value` is a finite number on the clear side of its bar, as in the documented closed
        notification ("returned to normal with a value of 0.835", bar 0.9, COMPARISON_GT). A closing
        that carries the value it fired at, prose, or no value shows nothing, whichever of those
        caused it."""
        if self.is_open or self.is_cancelled or self.recovery_unread or self.recovery_doubt:
            return ""
        value, bar = _number(self.observed_value), self.threshold
        if value is None or bar is None:
            return ""
        clear, words = _CLEAR_SIDE[self.comparison]
        if not clear(value, bar):
            return ""
        return (f"Monitoring closed it with a value of {value:g}, {words} the condition's bar of {bar:g} "
                f"({self.comparison})")

    @property
    def recovery_unread(self) -> str:
        """Why no `observed_value` of this notification can show its condition stopped holding, whatever
        the value, or "" when one can (`recovery_shown` then reads it against the bar): only a schema-1.2
        threshold condition that is no forecast, with a comparison that has a side to be clear on, says
        what its value measures and where its bar is. Named in the CLOSED's reason (reasons.closed_reason),
        which otherwise says the value was not on the clear side of the bar, untrue of a forecast's 0.01
        under a bar of 0.05."""
        if self.version != SCHEMA_VERSION:
            shown = f"version {quoted(self.version, 60)}" if self.version else "no version"
            return f"the notification is of schema {shown}, not {SCHEMA_VERSION}: its values may mean something else"
        if not self.condition_kind:
            return "the notification carries no condition: which side of which bar its value should be on is unstated"
        if self.condition_kind == "absent":
            return "its condition is a metric-absence condition, which has no bar: it fires when data stops"
        if self.condition_kind == "log_match":
            return "its condition is a log match, which has no value nor bar"
        if self.condition_kind == "other":
            return ("its condition is a query (MQL, PromQL or SQL), whose comparison is inside the query, not "
                    "stated by the notification")
        if self.slo_standing:
            return (f"its condition is an SLO's standing over its compliance period ({self.slo_standing}): a value "
                    "back on the clear side of its bar shows failures ageing out of the period, not the service "
                    "recovered")
        if self.forecast:
            return ("its condition is a forecast (forecastOptions): its value is a prediction of the metric, not "
                    "the metric measured")
        if self.comparison not in _CLEAR_SIDE:
            shown = self.comparison or "no comparison"
            return f"its condition's comparison ({shown}) has no side of its bar to be clear on"
        return ""

    @property
    def recovery_doubt(self) -> str:
        """Why a value on the clear side of the bar in this CLOSED would show nothing of recovery, or "":
        - its parts may name different conditions (`condition_doubt`): the value one's, the bar another's;
        - it ended before it started: no closing of this incident Monitoring measured, but a payload
          that came through something else (a relay, a hand-written one);
        - its condition evaluates missing data as not met (evaluationMissingData
          EVALUATION_MISSING_DATA_INACTIVE: "If there is no data to evaluate the condition, then evaluate
          the condition as false", google-cloud-monitoring, types/alert.py, Condition.EvaluationMissingData):
          it closes when its data stops, as it does when the condition clears, and which `observed_value`
          such a CLOSED carries (the last value, none, or the clear-side value a missing point is taken
          for) is UNCONFIRMED: no sample. Read either way, it shows no recovery.
        A closing for want of data under the policy's autoClose (not in the notification) is the same
        case and cannot be told apart here: the sweep never takes a CLOSED alone as recovery, and judges
        a service's own requests on live data (shared/remediation/judging.py)."""
        if self.condition_doubt:
            return self.condition_doubt
        if self.ended_at is not None and self.ended_at < self.started_at:
            return (f"it ended at {self.ended_at} ({_utc(self.ended_at)}), before it started at {self.started_at} "
                    f"({_utc(self.started_at)}): no closing Monitoring measured")
        if self.evaluation_missing_data.strip() in _MISSING_DATA_INACTIVE:
            return ("its condition evaluates missing data as not met (evaluationMissingData "
                    "EVALUATION_MISSING_DATA_INACTIVE), so it also closes when its data stops arriving, with a value "
                    "that is not known to be measured")
        return ""

    @property
    def observed_number(self) -> float | None:
        """`observed_value` as a finite number ("0.60", "45000.000", "1e-3"), else None (none, prose, a unit, NaN)."""
        return _number(self.observed_value)

    @property
    def observed_unread(self) -> bool:
        """The notification carries an `observed_value` that is no plain finite number ("0.5 s", "83.5%",
        "0,835", prose): read as none, no unit guessed."""
        return bool((self.observed_value or "").strip()) and _number(self.observed_value) is None

    @property
    def is_cancelled(self) -> bool:
        """Closed because the policy's condition was deleted or modified while the incident was open,
        not because the condition stopped holding: no evidence of recovery."""
        return not self.is_open and any(CANCELLED_TEXT in (text or "").lower()
                                        for text in (self.observed_value, self.summary))

    @property
    def is_log_match(self) -> bool:
        # Log-match alerts carry an empty metric, and Monitoring never sends their "closed". When the
        # condition's kind is known it decides: an uptime check's metric condition is not a log match.
        if self.condition_kind:
            return self.condition_kind == "log_match"
        return not self.metric_type

    @property
    def threshold(self) -> float | None:
        """threshold_value as a finite number; without one (absent, text no number reads: units such
        as "0.1 %" or "2 s", prose; or not finite: float() reads "NaN" and "inf", and an infinite count
        bar would clear any number of 5xx as healthy), the condition's own thresholdValue, the same bar
        as the policy holds it; else None. A threshold_value that was no number once discarded the
        condition's bar too, and a 5xx ratio alert was judged at the settings' looser one.
        When both are numbers they must agree (`threshold_disagreement`): then the condition's own, exact
        where the string is rounded ("0.001" printed for a bar of 0.0005 would be the looser bar); when
        they do not, None: which one is the bar is unknown."""
        value = _number(self.threshold_value)
        if value is None:
            return _number(self.condition_threshold)
        if self.threshold_disagreement:
            return None
        stated = _number(self.condition_threshold) if self.condition_threshold_stated else None
        return stated if stated is not None else value

    @property
    def threshold_disagreement(self) -> str:
        """Why the incident's `threshold_value` and its condition's own thresholdValue name different bars,
        or "" when they agree (or either is no number). Both are the condition's bar: threshold_value a
        string ("2001", "0.9"), MetricThreshold.threshold_value a number (google/monitoring/v3/alert.proto;
        "thresholdValue": 2001 with "threshold_value": "2001", and 0.9 with "0.9", in every sample,
        tests/fixtures/samples). They agree when the string is the number as far as the string's own
        digits go (it may be rounded: "0.835", "7679.000"). When they do not, the notification came through
        something that rewrote one (a relay, a template), or threshold_value is shown in another unit than
        the condition's (UNCONFIRMED: the documented sample's compute.googleapis.com/instance/cpu/utilization,
        a metric of unit 10^2.%, carries 0.9 in both, unscaled); either way which one the
        policy compares with is unknown. Read as threshold_value (as it once was), a relay's "0.05" over a
        0.005 ratio bar left the settings' 1 % the bar, and 1 % of 5xx was healthy; read as the condition's, a display in percent would
        be the wrong bar the other way. So neither is the bar: the condition is not judged, its CLOSED shows
        no recovery, and the person sees both."""
        stated = _number(self.threshold_value)
        bar = _number(self.condition_threshold) if self.condition_threshold_stated else None
        if stated is None or bar is None or abs(stated - bar) <= _printed_precision(self.threshold_value or ""):
            return ""
        return (f"the notification's threshold_value {quoted(self.threshold_value or '', 40)} is not its condition's "
                f"thresholdValue {bar:g}: which one is the policy's bar is unknown")

    @property
    def target(self) -> AlertTarget:
        """What the alert is about, and so where diagnosis starts."""
        return alert_target(self)

    @property
    def cloud_run_service(self) -> str | None:
        """`projects/P/locations/L/services/S` for a Cloud Run revision alert, else None."""
        target = self.target
        return target.name if target.kind is TargetKind.SERVICE else None


def quoted(text: str, limit: int = 80) -> str:
    """`text` as a quoted literal, its escapes visible; longer than `limit`, its first `limit` characters and its
    length (shared/echo.py: what every answer repeats of its input)."""
    return echoed_quoted(text, limit)


def _printed_precision(text: str) -> float:
    """Half the last printed digit of a decimal number ("0.835": 0.0005, "2001": 0.5, "7679.000": 0.0005,
    "1e-05": 0.000005): how far the number it was rounded from may lie. 0 when it is no decimal."""
    try:
        exponent = Decimal(text.strip()).as_tuple().exponent
    except (InvalidOperation, ValueError):
        return 0.0
    return 0.5 * 10.0 ** exponent if isinstance(exponent, int) else 0.0


def _number(value: str | float | None) -> float | None:
    """`value` as a finite number, else None."""
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


# The labels that name one resource of a type, any of which a condition's cross-series reducer must keep (or its
# filter select alone by equality, and its query not write) for its series to be that resource's
# (Incident._aggregation_doubt), and what a series summed over them is across. A revision belongs to one service, and a
# service's configuration bears its name (Cloud Run Admin API v1, Configuration). A known limit: a service's or
# connector's name is unique within one project and region only, and a policy may see several projects ("Overview of
# viewing metrics for multiple projects"), yet a reduction keeping the name but not `location` or `project_id` is read
# as the named service's: the diagnosis reads that service's own live evidence in its own region and project before
# any action, and the notification cannot show a same-named service elsewhere (nor can Runwarden read it), while
# holding it would escalate every common policy grouped by service_name alone. A Cloud SQL database_id names its
# project.
_PLACES = {
    "cloud_run_revision": ((frozenset({"service_name", "revision_name", "configuration_name"}), "services"),),
    "vpc_access_connector": ((frozenset({"connector_name"}), "connectors"),),
    "cloudsql_database": ((frozenset({"database_id"}), "instances"),)}


def _kept_label(field: str) -> str:
    """The resource label a groupByFields entry keeps (`resource.label.service_name`, `resource.labels."x"` -> x;
    `resource.label.*` -> *), or "" for another field's (a metric label of the same name names no resource)."""
    found = re.fullmatch(r'\s*resource\.labels?\.("?)([\w*]+)\1\s*', field)
    return found.group(2) if found else ""


class TargetKind(str, Enum):
    SERVICE = "service"          # a Cloud Run service (a revision metric or a log entry of one)
    CONNECTOR = "connector"      # a Serverless VPC Access connector: the services that use it
    CLOUDSQL = "cloudsql"        # a Cloud SQL instance: the services that use it
    UPTIME = "uptime"            # an uptime check on a URL: the service behind the host
    UNROUTABLE = "unroutable"    # the notification cannot name what it is about


class AlertTarget(BaseModel):
    """What an alert points at: a full resource name (or a host), or why it points at nothing."""

    model_config = ConfigDict(frozen=True)

    kind: TargetKind
    name: str = ""     # services/..., connectors/..., "project:region:instance", or the uptime host
    reason: str = ""   # UNROUTABLE: why, and how to fix the policy
    fix_policy: bool = False  # UNROUTABLE because of the policy's aggregation (the policy must change)


_AGGREGATION_FIX = ("group the condition's aggregation by {fields} (crossSeriesReducer with "
                    "groupByFields: [{paths}]), so each notification names one {what}")

# A query condition (PromQL, MQL) has no aggregation to group: its query keeps the labels or drops
# them. MQL names a resource label `resource.L` in `group_by` (Monitoring Query Language reference);
# PromQL keeps a monitored resource's labels under their own names (Cloud Monitoring, "PromQL for
# Cloud Monitoring metrics": UNCONFIRMED for labels a metric label of the same name shadows).
_QUERY_FIX = ("keep {fields} in the query's result (PromQL: sum by ({labels}) (...); MQL: group_by "
              "[{resource}]), so each notification names one {what}")

# What a notification summed over is, by the one identifying label it lacks.
_ACROSS = {"location": "locations (regions)",
           "project_id": "projects (every project in its metrics scope)"}


# An SLO condition's filter is a time-series selector (select_slo_burn_rate(SLO, LOOKBACK), ...): "Because
# SLO data is retrieved differently than other time-series data, the only field used in a condition for an
# SLO is the filter field", and "SLO data isn't stored with metric types and can't be retrieved with the
# filter that specifies a pair of metric and monitored-resource types" (Cloud Monitoring, "Creating an
# alerting policy" and "Retrieving SLO data", SLO monitoring API). It has no aggregation to group, and its
# SLO names a Service Monitoring service (projects/P/services/ID, an opaque id for a Cloud Run service in
# public policies), not a Cloud Run service.
_SLO_SELECTOR = re.compile(r'select_slo_\w+\(\s*"?(projects/[^/"]+/services/[^/"]+)')


def _aggregated(incident: Incident, missing: list[str], fields: list[str], what: str) -> AlertTarget:
    if "select_slo_" in incident.condition_filter:
        return _slo_unnamed(incident, missing, what)
    if incident.condition_kind == "log_match":
        return _entry_unnamed(incident, missing, what)
    paths = ", ".join(f"resource.label.{f}" for f in fields)
    named_fields = ", ".join(fields[:-1]) + " and " + fields[-1] if len(fields) > 1 else fields[0]
    fix = (_QUERY_FIX if incident.condition_kind == "other" else _AGGREGATION_FIX).format(
        fields=named_fields, paths=paths, what=what, labels=", ".join(fields),
        resource=", ".join(f"resource.{f}" for f in fields))
    # Grouped by the name alone (a common policy: group by service_name), the series is summed over
    # locations: the same name may run in several regions, and the sum over them alerted. Grouped
    # without project_id, it is summed over the projects of the policy's metrics scope (Cloud
    # Monitoring's Aggregation: "Fields not specified in groupByFields are aggregated away").
    alone = missing[0] if len(missing) == 1 and missing[0] in _ACROSS else ""
    across = _ACROSS[alone] if alone else f"{what}s"
    named = next((f for f in fields if f.endswith("_name")), "") if alone else ""
    value = incident.resource_labels.get(named) if named else None
    name = f" names {named} {value!r} but" if value else ""
    # The missing label among the metric's own labels (a policy grouped by metric.label.service_name):
    # named, so the person sees it was seen, never read as the resource's (a metric label may name anything).
    carried = {k: incident.metric_labels[k] for k in missing if incident.metric_labels.get(k)}
    seen = (f" (its metric labels carry {', '.join(f'{k}={v!r}' for k, v in carried.items())}, not read as the "
            "resource's: a metric label may name anything)") if carried else ""
    return AlertTarget(kind=TargetKind.UNROUTABLE, fix_policy=True, reason=(
        f"policy {incident.policy_name!r} aggregates {incident.resource_type} across {across}: the notification"
        f"{name} has no {' or '.join(missing)} label{seen}, so Runwarden cannot tell which {what} alerted; {fix}"))


def _slo_unnamed(incident: Incident, missing: list[str], what: str) -> AlertTarget:
    """An SLO condition's notification without the labels that name one resource: no aggregation can be
    grouped to add them (`_SLO_SELECTOR`), so the advice is never to group it."""
    found = _SLO_SELECTOR.search(incident.condition_filter)
    slo = f" (its SLO is of {found.group(1)!r}, a Service Monitoring service, not a Cloud Run one)" if found else ""
    return AlertTarget(kind=TargetKind.UNROUTABLE, fix_policy=True, reason=(
        f"policy {incident.policy_name!r} is an SLO condition ({quoted(incident.condition_filter, 120)}){slo}: its "
        f"notification has no {' or '.join(missing)} label, so Runwarden cannot tell which {what} alerted, and an SLO "
        "condition has no aggregation to group (only its filter is used); route this policy to a person's channel, "
        "or alert Runwarden with a metric condition on cloud_run_revision grouped by resource.label.project_id, "
        "location and service_name"))


def _entry_unnamed(incident: Incident, missing: list[str], what: str) -> AlertTarget:
    """A log-match notification without the labels that name one resource. A LogMatch condition has a
    filter and label extractors, no aggregation (AlertPolicy.Condition.LogMatch, google/monitoring/v3/
    alert.proto): its notification names the matched entry's monitored resource, whose labels the entry's
    writer set (LogEntry.resource, "The monitored resource that produced this log entry", Cloud Logging
    v2), so the advice is never to group an aggregation. Which writer left a label out is not known here
    (an application writing entries through the Logging API with a resource of its own making, say: that
    Cloud Run's own request and container logs always carry every cloud_run_revision label is UNCONFIRMED)."""
    return AlertTarget(kind=TargetKind.UNROUTABLE, fix_policy=True, reason=(
        f"policy {quoted(incident.policy_name)} is a log-match condition ({quoted(incident.condition_filter, 120)}): the "
        f"entry it matched names a {incident.resource_type} with no {' or '.join(missing)} label, so Runwarden cannot "
        f"tell which {what} alerted; whatever wrote the matched entry set its resource labels: have it set every "
        f"{incident.resource_type} label, or narrow the filter to entries that carry them, or route this policy to a "
        "person's channel"))


def alert_target(incident: Incident) -> AlertTarget:
    """Resource labels per monitored-resource type (Cloud Monitoring's monitored resource list):
    cloud_run_revision {project_id, service_name, revision_name, location, configuration_name},
    vpc_access_connector {project_id, location, connector_name}, cloudsql_database
    {project_id, database_id ("project:instance"), region}, uptime_url {project_id, host}. A Cloud SQL
    target is "project:region:instance", or "project:instance" when the notification keeps no region."""
    labels, kind = incident.resource_labels, incident.resource_type
    # The resource's own project only: never the scoping project. A policy lives in the scoping
    # project and sees every project of its metrics scope (Runwarden's own policies are made so,
    # docs/deploy.md); a notification without project_id was summed over them, and the scoping
    # project is then merely where the policy lives, not where the resource is.
    project = labels.get("project_id", "")
    malformed = _malformed(incident) or _respelled(incident)
    if malformed is not None:
        return malformed
    if kind == "cloud_run_revision":
        fields = ["project_id", "service_name", "location"]
        missing = [k for k in fields if not labels.get(k)]
        if missing:
            return _aggregated(incident, missing, fields, "service")
        return AlertTarget(kind=TargetKind.SERVICE,
                           name=f"projects/{project}/locations/{labels['location']}/services/{labels['service_name']}")
    if kind == "vpc_access_connector":
        fields = ["project_id", "connector_name", "location"]
        missing = [k for k in fields if not labels.get(k)]
        if missing:
            return _aggregated(incident, missing, fields, "connector")
        return AlertTarget(kind=TargetKind.CONNECTOR, name=(
            f"projects/{project}/locations/{labels['location']}/connectors/{labels['connector_name']}"))
    if kind == "cloudsql_database":
        database_id, region = labels.get("database_id", ""), labels.get("region", "")
        if not database_id:
            return _aggregated(incident, [k for k in ("database_id", "region") if not labels.get(k)],
                               ["database_id", "region"], "instance")
        if not region:
            # Grouped by database_id alone, the series is still one instance's: the Cloud SQL Admin API
            # names an instance by its project and id, no region (instances.get and instances.delete,
            # `projects/{project}/instances/{instance}`), so "project:instance" names it whole. It is
            # matched to its users by that (shared/gcp/identifiers.py `names_sql_instance`).
            return AlertTarget(kind=TargetKind.CLOUDSQL, name=database_id)
        # database_id is "project:instance"; a domain-scoped project has a colon of its own.
        sql_project, instance = database_id.rsplit(":", 1)
        return AlertTarget(kind=TargetKind.CLOUDSQL, name=f"{sql_project}:{region}:{instance}")
    if kind == "uptime_url":
        host = labels.get("host", "")
        if not host:
            return _aggregated(incident, ["host"], ["host"], "URL")
        return AlertTarget(kind=TargetKind.UPTIME, name=host.lower())
    if not kind:
        return _no_resource(incident)
    # Not the policy's fault (it may rightly alert people on a job or a VM), but Runwarden's own
    # policies never alert on such a resource (infra/alerts.tf): this one was pointed at Runwarden's
    # channel, and if that is its only channel nobody else hears of it. So a person is told (escalated).
    return AlertTarget(kind=TargetKind.UNROUTABLE, reason=(
        f"not Runwarden's: resource type {kind!r} is not one Runwarden diagnoses (cloud_run_revision, "
        f"vpc_access_connector, cloudsql_database, uptime_url), so nothing was read or done; "
        f"{_query_said(incident)}{load_balancer_said(kind, labels)}a person must look at it. Policy "
        f"{incident.policy_name!r} sends it to Runwarden's "
        "notification channel: if no person's channel is on the policy too, add one"))


# The resource labels each monitored-resource type Runwarden reads builds its target's name from.
_NAME_LABELS = {"cloud_run_revision": ("project_id", "location", "service_name"),
                "vpc_access_connector": ("project_id", "location", "connector_name"),
                "cloudsql_database": ("database_id", "region"),
                "uptime_url": ("host",)}

# What those labels can hold when Monitoring sends them for a real resource: Google Cloud resource ids
# (project ids, a domain-scoped one's "example.com:p", regions, Cloud Run service and connector names,
# Cloud SQL's "project:instance") and host names are ASCII letters, digits, '-', '.', ':' and '_', and
# none is longer than a DNS name's 253 characters (each type's own naming rules are stricter, and are
# not all confirmed here). Anything else came from something other than the resource: a log entry's
# writer sets its entry's resource labels (LogEntry.resource), and a relay may rewrite them. Built into
# a resource name, a '/' reads as another path segment and a long or non-ASCII name as a service of
# that name, answered `skipped` ("not a managed service") where nobody hears of it.
_RESOURCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,252}")
_INSTANCE_ID = re.compile(r"(?P<project>[^:]+(?::[^:]+)?):(?P<instance>[^:]+)")


def _malformed(incident: Incident) -> AlertTarget | None:
    """A target that says why the notification's identifying labels name no resource of its type, or None
    when they are well formed (or missing: `_aggregated` says that). Rejected and paged, as a policy to
    fix: its notifications keep coming to Runwarden's channel."""
    labels = incident.resource_labels
    for field in _NAME_LABELS.get(incident.resource_type, ()):
        value = labels.get(field, "")
        if not value:
            continue
        problem = ""
        if not _RESOURCE_ID.fullmatch(value):
            problem = "is no Google Cloud resource id (ASCII letters, digits, '-', '.', ':' or '_', at most 253)"
        elif field == "database_id" and not _INSTANCE_ID.fullmatch(value):
            problem = "is not Cloud SQL's 'project:instance'"
        else:
            problem = resource_label_problem(field, value) or ""
        if problem:
            return AlertTarget(kind=TargetKind.UNROUTABLE, fix_policy=True, reason=(
                f"policy {quoted(incident.policy_name)}: the notification's {incident.resource_type} label {field} "
                f"{quoted(value)} ({len(value)} characters) {problem}, so it names no {incident.resource_type} "
                "Runwarden can read, and nothing was read or done; its labels were not written by Monitoring for a "
                "real resource (a log entry's writer sets its entry's resource labels; a relay may rewrite them): fix "
                "what writes them, or route this policy to a person's channel"))
    return None


def _respelled(incident: Incident) -> AlertTarget | None:
    """A target that says the notification's resource or metric labels are keyed in another spelling than the one
    they are sent and read under, or None. A monitored resource type's labels are a fixed set, snake_case, and a
    metric's labels are its descriptor's; Monitoring sends both so (every sample, tests/fixtures/samples): a
    `serviceName`, `revisionName` or `responseCodeClass` in their place came from a relay that respelled every key,
    a label map's keys with the schema's. Read as missing, they were said to be a policy that aggregates across
    services (its owner told to regroup an aggregation that was right), or ignored (a revision the condition held
    on, rolled back toward; a 4xx count judged as 5xx); read as the labels they spell, keys a relay rewrote would
    name what to write to. Neither: rejected, naming each key as sent and as it is spelled. So is such a key beside
    the label's own with another value (`service_name` 'backend', `serviceName` 'frontend'): which one names the
    resource is unknown. A copy with the same value names nothing else, and is read as before. Which labels count
    is shared/alerts/label_keys.py's rule: every label the product reads, and every label the condition names."""
    named_resource, named_metric = label_keys.named_by(
        (incident.condition_filter, incident.denominator_filter, *incident.group_by, *incident.denominator_group_by))
    found = [("resource", sent, label, incident.resource_labels) for sent, label in label_keys.respelled(
        incident.resource_labels, (*label_keys.RESOURCE_LABELS.get(incident.resource_type, ()), *named_resource)
    ).items()] + [("metric", sent, label, incident.metric_labels) for sent, label in label_keys.respelled(
        incident.metric_labels, (*label_keys.metric_labels_read(incident.metric_type), *named_metric)).items()]
    if not found:
        return None
    said = ", ".join(f"{where} label {sent!r} {quoted(labels[sent], 60)} for {label!r}"
                     + (f" (which it also carries, {quoted(labels[label], 60)})" if labels.get(label) else "")
                     for where, sent, label, labels in found)
    return AlertTarget(kind=TargetKind.UNROUTABLE, fix_policy=True, reason=(
        f"policy {quoted(incident.policy_name)}: the notification's {incident.resource_type or 'resource'} labels are "
        f"keyed in another spelling than the one Monitoring sends ({said}): Monitoring sends a monitored resource's "
        "labels under their own snake_case names and a metric's under its descriptor's, as the condition names them, "
        "so something between it and Runwarden (a relay) respelled the label keys; what they name is not read from "
        "rewritten keys, and nothing was read or done: have the relay keep the keys of label maps (resource.labels, "
        "metric.labels, policy_user_labels) as Monitoring sent them, or route this policy to a person's channel"))


# Resource labels that name what Runwarden diagnoses, wherever a notification carries them.
_NAMING_LABELS = ("project_id", "location", "service_name", "revision_name", "connector_name", "database_id", "host")


def _query_labels(condition: _Condition) -> dict[str, str]:
    """A PromQL condition's `labels` (`_ConditionBody.labels`) whose name and value are text; {} for any other
    condition, and for a `labels` that is no object."""
    body = condition.other
    if "conditionPrometheusQueryLanguage" not in condition.kinds or body is None or not isinstance(body.labels, Mapping):
        return {}
    return {str(k): v for k, v in body.labels.items() if isinstance(v, str)}


def _label_extractors(condition: _Condition) -> dict[str, str]:
    """A log match's `labelExtractors` whose key and expression are text; {} for any other condition."""
    body = condition.condition_matched_log
    if body is None or not isinstance(body.label_extractors, Mapping):
        return {}
    return {str(k): v for k, v in body.label_extractors.items() if isinstance(v, str)}


def _no_resource(incident: Incident) -> AlertTarget:
    """A notification with no `resource.type`: it cannot say what it is about, so nothing is guessed
    from its labels; but the policy that sent it to Runwarden's channel keeps firing, so a person
    must hear of it (rejected, as a policy to fix), with what it did carry. Seen from conditions whose
    result keeps no monitored resource: a PromQL or MQL query that aggregates it away, an SLO
    burn-rate condition (`select_slo_burn_rate`, about a service-level objective, not a resource);
    which labels such notifications carry is UNCONFIRMED (no real sample: tests/fixtures/samples)."""
    seen = {k: v for labels in (incident.metric_labels, incident.resource_labels) for k, v in labels.items()
            if k in _NAMING_LABELS or k == "monitored_resource"}
    carried = (f"; it carries {', '.join(f'{k}={v!r}' for k, v in sorted(seen.items()))} among its labels, "
               "which are not read as a resource: a query's result labels may name anything") if seen else ""
    what = ("an SLO burn-rate condition names a service-level objective, not a Cloud Run resource; "
            if "select_slo_" in incident.condition_filter else "")
    # Monitoring's own words, shown (never parsed) so the person paged sees what fired.
    summary = incident.summary.strip()
    said = f"; its summary: {summary[:240]!r}" if summary else ""
    return AlertTarget(kind=TargetKind.UNROUTABLE, fix_policy=True, reason=(
        f"policy {incident.policy_name!r}: the notification names no monitored resource (resource.type is empty), "
        f"so Runwarden cannot tell which service, connector or instance alerted{carried}{said}; "
        f"{_query_said(incident, result_labels=False)}{what}alert Runwarden "
        "with a metric condition on the resource (cloud_run_revision grouped by resource.label.project_id, "
        "location and service_name; vpc_access_connector; cloudsql_database; uptime_url), or route this policy "
        "to a person's channel"))


def _query_said(incident: Incident, result_labels: bool = True) -> str:
    """For a query condition (PromQL, MQL) whose notification names no resource Runwarden reads: the Cloud
    Run services its query selects by name, said so a person knows which managed service it may be about
    (shared/pipeline.py `query_named_services` names the managed ones), "" when it selects none. A
    prometheus_target (project_id, location, cluster, namespace, job, instance: Managed Service for
    Prometheus's monitored resource) or no resource is no Cloud Run service, and a query's selection is not
    its result's resource (it may sum several services, or compare one with another): nothing is acted on
    by it."""
    if incident.condition_kind != "other":
        return ""
    names = query_names(incident.condition_filter)
    if not names and incident.named_workloads:
        return _workloads_said(incident.named_workloads)
    if not names:
        # `sum by (service_name) (...)` selects none by name, but its result keeps the label: shown, never read
        # (`_no_resource` shows them itself: result_labels False).
        kept = {k: v for k, v in incident.metric_labels.items() if k in _NAMING_LABELS and v and result_labels}
        return (f"its result carries {', '.join(f'{k}={v!r}' for k, v in sorted(kept.items()))} among its labels, "
                "not read as a resource (a query's result labels may name anything); ") if kept else ""
    where = "".join(f", {label} {' or '.join(quoted(v, 40) for v in values)}"
                    for label, values in (("location", names.locations), ("project_id", names.projects)) if values)
    services = " or ".join(quoted(s, 60) for s in names.services)
    return (f"its query selects Cloud Run service_name {services}{where}: the alert may be about that service, but "
            "a query's selection does not say which resource its result is about (it may sum several), so nothing "
            "was read or done on that guess (`runwarden command diagnose --target SERVICE` reads a service's live "
            "evidence now); ")


def _workloads_said(workloads: tuple[tuple[str, str], ...]) -> str:
    """`_query_said` for an application's own metric naming a service (query_names.workload_names)."""
    said = " and ".join(f"{label} {quoted(value, 60)}" for label, value in workloads)
    return (f"its query or its Cloud Run sidecar's prometheus_target names {said} (Managed Service for Prometheus's "
            "sidecar for Cloud Run writes the service's name as namespace; an OpenTelemetry collector or the "
            "application may write it as job or service_name): the alert may be about that service, but an "
            "application metric's labels are its writer's, so nothing was read or done on that guess (`runwarden "
            "command diagnose --target SERVICE` reads a service's live evidence now); ")


def _condition_bar(condition: _Condition) -> float | None:
    """The condition's own thresholdValue. A threshold condition without one is at 0: the condition
    is AlertPolicy.Condition in ProtoJSON ("thresholdValue": 0.9, "duration": "0s" in the documented
    notification), where a plain proto3 double at its default is omitted ("Fields with default values
    are omitted by default in proto3 JSON output", the proto3 language guide's JSON options, quoted in
    protocolbuffers/protobuf#6035), and MetricThreshold.threshold_value is one
    (google/monitoring/v3/alert.proto). An "any 5xx" policy's bar read as none was judged at the
    settings' share instead. That Monitoring's serializer omits it is UNCONFIRMED (no sample with a 0
    bar); 0 is the stricter reading either way: it never clears what a higher bar would not."""
    if condition.condition_threshold is not None:
        value = condition.condition_threshold.threshold_value
        return 0.0 if value is None else value
    return condition.body.threshold_value if condition.body is not None else None


_NO_STEP = frozenset({"", "ALIGN_NONE", "REDUCE_NONE"})


def _chained(body: _ConditionBody | None) -> _Aggregation:
    """The aggregation the condition's `aggregations` make together: "Multiple aggregations are applied in
    the order specified" (MetricThreshold.aggregations, google-cloud-monitoring types/alert.py). The usual
    split, the aligner in the first and one cross-series reducer in a later one (two `aggregations`
    blocks in Terraform), is that aligner and that reducer. A later aligner (one applied to series already
    aligned) or a second reducer makes a value no single aggregation names: they are kept in order
    ("ALIGN_PERCENTILE_99, then ALIGN_MEAN"), a name no decision reads as an aligner or a reducer. Read
    from the first step alone, a sum of p99s (ALIGN_PERCENTILE_99, then REDUCE_SUM) was judged as a p99.
    Whether a later step may carry a reducer without an aligner of its own is UNCONFIRMED: a single
    Aggregation may not ("If cross_series_reducer is specified, then per_series_aligner must be specified,
    and must not be ALIGN_NONE", Aggregation, types/common.py). If later steps need one, every chain
    carries a later aligner and is not judged; if not, the split is read as its pair. Either way no chain
    is judged as a value it does not compare."""
    return _chain(body.aggregations if body is not None else [])


def _chain(steps: list[_Aggregation]) -> _Aggregation:
    """`_chained` of any list of aggregation steps (a condition's aggregations or denominatorAggregations)."""
    if len(steps) <= 1:
        return steps[0] if steps else _Aggregation()
    aligners = [steps[0].per_series_aligner] + [s.per_series_aligner for s in steps[1:]
                                                if s.per_series_aligner not in _NO_STEP]
    reducing = [s for s in steps if s.cross_series_reducer not in _NO_STEP]
    return _Aggregation(per_series_aligner=", then ".join(a or "ALIGN_NONE" for a in aligners)
                        if len(aligners) > 1 else aligners[0],
                        cross_series_reducer=", then ".join(s.cross_series_reducer for s in reducing),
                        group_by_fields=reducing[-1].group_by_fields if reducing else (),
                        alignment_period=steps[0].alignment_period)


def _denominator(body: _ConditionBody | None) -> _Aggregation:
    """The aggregation a ratio condition's denominatorAggregations make together (none: `_Aggregation()`)."""
    return _chain(body.denominator_aggregations or []) if body is not None else _Aggregation()


def _stated_condition(i: _IncidentWire) -> _Condition:
    """The condition the notification states: its `condition`, or, when that carries no condition kind (none
    sent, or only its name), the one condition a `conditions` list holds, if it is that same condition (or the
    `condition` names none). A relay that embeds the policy may move the condition into the list (no schema-1.2
    notification seen does: see _IncidentWire.conditions); the policy's only condition is then stated there."""
    carried, listed = i.condition, i.conditions or []
    if carried.kinds or len(listed) != 1 or not listed[0].kinds:
        return carried
    only = listed[0]
    same = (carried.name.strip() == only.name.strip() if carried.name and only.name
            else carried.display_name.strip() in ("", only.display_name.strip()))
    return only if same else carried


# The summary Monitoring writes names the resource's system labels: "CPU utilization for internal-project gke-... with
# metric labels {instance_name=...} and system labels {state=ACTIVE} returned to normal" (Cloud Monitoring, "Notification
# options", its schema 1.2 example, whose condition selects `metadata.system_labels."state"="ACTIVE"` while its
# `metadata` block holds placeholders). Whether it names user labels the same way ("user labels {...}") is UNCONFIRMED
# (no sample shows one): read alike. A value holding ", " is cut there, and then selects nothing it should not.
_SUMMARY_LABELS = re.compile(r"\b(system|user) labels \{([^{}]*)\}")


def _metadata_labels(metadata: _Metadata, summary: str) -> dict[str, str]:
    """The resource's metadata labels the notification states, keyed `system_labels.<key>` / `user_labels.<key>`: its
    `metadata` block's, then its summary's (`_SUMMARY_LABELS`); a key the two give different values is left out (not
    known), so a condition selecting by it raises doubt (Incident._metadata_doubt)."""
    stated = {**{f"system_labels.{k}": v for k, v in metadata.system_labels.items()},
              **{f"user_labels.{k}": v for k, v in metadata.user_labels.items()}}
    for kind, pairs in _SUMMARY_LABELS.findall(summary):
        for pair in pairs.split(", "):
            key, equals, value = pair.partition("=")
            name = f"{kind}_labels.{key.strip()}"
            if not equals or not key.strip():
                continue
            if stated.get(name, value) != value:
                stated[name] = ""
            else:
                stated[name] = value
    return {k: v for k, v in stated.items() if v}


def _to_incident(wire: _NotificationWire) -> Incident:
    # Validated again, on purpose: pydantic's validation in Rust (about 6 us here) is cheaper than
    # `model_construct`, which fills the fields in Python (about 13 us).
    i = wire.incident
    condition = _stated_condition(i)
    body = condition.body   # a property: each condition kind tried in turn
    # The chains built once each (a chain of none is a new _Aggregation): every delivery, duplicates too, parses.
    chained, denominator = _chained(body), _denominator(body)
    keyed = folded_incident_id(i.incident_id)
    return Incident(
        incident_id=keyed,
        incident_id_as_sent="" if keyed == i.incident_id else i.incident_id,
        state=i.state,
        version=wire.version,
        policy_name=i.policy_name,
        condition_name=i.condition_name or condition.display_name,
        condition_display_name=condition.display_name,
        condition_resource_name=condition.name,
        condition_filter=condition.filter,
        condition_kind=condition.kind,
        condition_kinds=condition.kinds,
        query_labels=_query_labels(condition),
        label_extractors=_label_extractors(condition),
        listed_conditions=tuple((c.name.strip(), c.display_name.strip()) for c in i.conditions or ()),
        comparison=body.comparison if body else "",
        denominator_filter=body.denominator_filter if body else "",
        forecast=bool(body and body.forecast_options is not None),
        aligner=chained.per_series_aligner,
        reducer=chained.cross_series_reducer,
        alignment_seconds=alignment_seconds(chained.alignment_period),
        evaluation_missing_data=body.evaluation_missing_data if body else "",
        sql_schedule_seconds=body.sql_schedule_seconds() if body else None,
        group_by=chained.group_by_fields,
        trigger=body.trigger.words() if body and body.trigger else "",
        denominator_aligner=denominator.per_series_aligner,
        denominator_reducer=denominator.cross_series_reducer,
        denominator_group_by=denominator.group_by_fields,
        denominator_aggregated=bool(body and body.denominator_aggregations is not None),
        metric_type=i.metric.type,
        metric_display_name=i.metric.display_name,
        metric_labels=i.metric.labels,
        log_labels=i.log.extracted_labels,
        resource_type=i.resource.type,
        resource_labels=i.resource.labels,
        metadata_labels=_metadata_labels(i.metadata, i.summary),
        started_at=i.started_at,
        ended_at=i.ended_at,
        observed_value=i.observed_value,
        threshold_value=i.threshold_value,
        condition_threshold=_condition_bar(condition),
        condition_threshold_stated=bool(body and body.threshold_value is not None),
        documentation=i.documentation,
        policy_user_labels=i.policy_user_labels,
        summary=i.summary,
        url=i.url,
        scoping_project_id=i.scoping_project_id,
        severity=i.severity,
    )


# --- Pub/Sub ------------------------------------------------------------------------------


class PubSubMessage(_Wire):
    """`PubsubMessage` from a messagePublished CloudEvent or a push body; `data` decoded."""

    model_config = ConfigDict(ser_json_bytes="base64")

    # as Runwarden writes it: Pub/Sub's own id as it came, any other text a push body put there as its digest
    message_id: Annotated[str, AfterValidator(message_id_written)] = ""
    publish_time: datetime | None = None
    attributes: Labels = Field(default_factory=dict)
    data: bytes = b""  # an attributes-only message has none
    ordering_key: str = ""


def decode_message_published(data: Mapping[str, Any]) -> PubSubMessage:
    """The `message` of a MessagePublishedData (`{"message": {...}, "subscription": "..."}`).

    `subscription` is optional: functions-framework drops it when it converts a push body.
    """
    if not isinstance(data, Mapping):
        raise IncidentParseError("data", f"expected a MessagePublishedData object, got {_json_kind(data)}")
    message = data.get("message")
    if message is None:
        raise IncidentParseError("message", "is required")
    if not isinstance(message, Mapping):
        raise IncidentParseError("message", f"expected an object, got {_json_kind(message)}")
    raw = message.get("data")
    fields = {k: v for k, v in message.items() if k != "data"}
    if raw is not None:
        fields["data"] = _b64decode(raw, "message.data")
    return _validate(PubSubMessage, fields, "message")


def parse_notification(payload: bytes | str | Mapping[str, Any]) -> Incident:
    """A Monitoring notification (`{"incident": ..., "version": ...}`) as an Incident."""
    return _parse_notification(payload, "notification")


class Delivered(NamedTuple):
    """A messagePublished event's message, the notification it carries, and the wrappings a relay put around the
    notification that were read through to reach it (shared/alerts/relayed.py), outermost first: () when the
    message's data is the notification itself, as Monitoring's Pub/Sub channel publishes it."""

    message: PubSubMessage
    incident: Incident
    relayed: tuple[Relayed, ...] = ()


def read_message_published(data: Mapping[str, Any]) -> Delivered:
    """The CloudEvent `data` of a messagePublished event carrying a Monitoring notification, and its relay's path."""
    message = decode_message_published(data)
    if not message.data:
        raise IncidentParseError("message.data", "is required: a Monitoring notification is the message body")
    incident, relayed = _read_notification(message.data, "message.data")
    return Delivered(message, incident, relayed)


def parse_message_published(data: Mapping[str, Any]) -> tuple[PubSubMessage, Incident]:
    """The CloudEvent `data` of a messagePublished event carrying a Monitoring notification."""
    delivered = read_message_published(data)
    return delivered.message, delivered.incident


def check_not_ahead(incident: Incident, *known: datetime | None) -> None:
    """Raises IncidentParseError naming `started_at` or `ended_at` when it lies further ahead of the
    latest of `known` (when the message was published, Pub/Sub's `publish_time`, and when it was
    received) than two clocks may differ (CLOCK_SKEW_ALLOWANCE). Monitoring publishes a notification
    after its incident opened (or closed): a start hours ahead is no incident time (a relay that
    shifted it by a time zone, say), and diagnosed as one it read as "no request_count data"."""
    seen = [t if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in known if t is not None]
    if not seen:
        return
    latest = max(seen)
    for field, value in (("started_at", incident.started_at), ("ended_at", incident.ended_at)):
        if value is None or value <= (latest + CLOCK_SKEW_ALLOWANCE).timestamp():
            continue
        when = datetime.fromtimestamp(value, timezone.utc)
        raise IncidentParseError(f"incident.{field}", (
            f"{value} ({when:%Y-%m-%dT%H:%M:%SZ}) is {_span(value - latest.timestamp())} after the message was "
            f"published and received ({latest.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}): an incident does not "
            "start or end after its notification (a time shifted by a relay, a time zone?)"))


def _span(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def load_any(raw: bytes | str) -> Incident:
    """Whatever an operator has at hand: a Pub/Sub push body or MessagePublishedData, a structured CloudEvent whose
    data is one of those, or anything else read as the pipeline reads a message's data: a notification, or one a
    relay wrapped (shared/alerts/relayed.py), refused in the pipeline's words (its 256 KiB bound included)."""
    return load_published(raw)[0]


def load_published(raw: bytes | str) -> tuple[Incident, bytes]:
    """`load_any`'s incident, and the data its message was published with: a push body's or a CloudEvent's message
    data, else `raw` itself (a notification, or one a relay wrapped, as it was published). One reading of the
    envelope for both: a replay publishes exactly what was read."""
    try:
        doc: Mapping[str, Any] | None = _json_object(raw, "input", limit=_MAX_ENVELOPE_BYTES)
    except IncidentParseError:
        doc = None   # no JSON object: the pipeline's reading says what it is, or why it is none
    if doc is not None and "incident" not in doc and "message" in doc:
        message, incident = parse_message_published(doc)
        return incident, message.data
    if doc is not None and "specversion" in doc:
        return _from_cloud_event(doc)
    return _parse_notification(raw, "notification"), _as_bytes(raw)


def _from_cloud_event(event: Mapping[str, Any]) -> tuple[Incident, bytes]:
    if event.get("type") != MESSAGE_PUBLISHED:
        raise IncidentParseError("type", f"expected {MESSAGE_PUBLISHED!r}, got {_shown(event.get('type'))}")
    data = event.get("data")
    if data is None and "data_base64" in event:
        data = _json_object(_b64decode(event["data_base64"], "data_base64"), "data_base64", _MAX_ENVELOPE_BYTES)
    if not isinstance(data, Mapping):
        raise IncidentParseError("data", f"expected a MessagePublishedData object, got {_json_kind(data)}")
    try:
        message, incident = parse_message_published(data)
    except IncidentParseError as e:
        # Envelope paths are relative to the CloudEvent; paths inside the notification are not.
        if e.field.startswith(("message", "data")):
            raise IncidentParseError(f"data.{e.field}", e.reason) from e
        raise
    return incident, message.data


# --- Helpers ----------------------------------------------------------------------------


def _parse_notification(payload: bytes | str | Mapping[str, Any], where: str) -> Incident:
    return _read_notification(payload, where)[0]


def _read_notification(payload: bytes | str | Mapping[str, Any], where: str) -> tuple[Incident, tuple[Relayed, ...]]:
    """The notification in `payload` and the relay's wrappings read through to reach it (shared/alerts/relayed.py):
    the notification's own JSON is parsed once, as it always was; a wrapping is read through only when `payload` is
    no notification, and an inner text that is none either is refused for what it lacks. Before, a notification a
    relay had republished in its push body, or encoded twice, was rejected ("incident: is required", "expected a
    JSON object, got string") and its failure never diagnosed."""
    if isinstance(payload, Mapping):
        doc, relayed = payload, ()
    else:
        if not isinstance(payload, (bytes, bytearray, str)):
            raise IncidentParseError(where, f"expected JSON text, got {type(payload).__name__}")
        raw = _as_bytes(payload)
        failed: list[bytes] = []

        def as_object(text: bytes) -> Mapping[str, Any]:
            try:
                return _json_object(text, where, MAX_WRAPPED_TEXT_BYTES)
            except IncidentParseError:
                failed.append(text)
                raise

        try:
            # A relay's wrappings are read up to their own bound; the notification inside them is held to its own.
            reached = read_through(raw, as_object)
        except WrappedTooDeep as deep:
            raise IncidentParseError(where, str(deep)) from None
        except IncidentParseError:
            if not failed or failed[-1] is not raw:
                # A wrapping was read and the text inside it is at fault: its own error says why, whatever the size of
                # the text around it (before, any error of a body past 256 KiB was said to be its size).
                raise
            if len(raw) > MAX_WRAPPED_TEXT_BYTES:
                raise IncidentParseError(where, f"{len(raw)} bytes is over the {MAX_WRAPPED_TEXT_BYTES}-byte limit of a "
                                         f"relay's wrappings (a notification is at most {MAX_NOTIFICATION_BYTES} "
                                         "bytes)") from None
            if len(raw) > MAX_NOTIFICATION_BYTES:   # no wrapping read, and too large to be a notification
                raise IncidentParseError(where, f"{len(raw)} bytes is over the {MAX_NOTIFICATION_BYTES}-byte "
                                         "limit") from None
            raise
        doc, relayed = reached.doc, reached.relayed
        if reached.size > MAX_NOTIFICATION_BYTES:
            inside = " (the notification inside the relay's wrappings)" if relayed else ""
            raise IncidentParseError(where, f"{reached.size} bytes{inside} is over the {MAX_NOTIFICATION_BYTES}-byte "
                                     "limit")
        if reached.deeper and "incident" not in doc:
            raise IncidentParseError(where, wrapped_too_deep(relayed))
    if "incident" not in doc:
        if isinstance(doc.get("command"), str) or doc.get("schema") == "runwarden.command/v1":
            # An operator's command published to the alerts topic: say where it belongs.
            raise MisroutedCommand(doc["command"] if isinstance(doc.get("command"), str) else "")
        raise IncidentParseError("incident", "is required (is this a Monitoring notification?)")
    if not isinstance(doc["incident"], Mapping):
        raise IncidentParseError("incident", f"expected an object, got {_json_kind(doc['incident'])}")
    return _consistent(_to_incident(_validate(_NotificationWire, doc))), relayed


def _as_bytes(raw: bytes | str) -> bytes:
    return raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)


def _consistent(incident: Incident) -> Incident:
    """The incident, unless it is open and ended at once: IncidentParseError naming
    `incident.ended_at`. Monitoring sends `ended_at: null` while an incident is open and the end
    once it closed (Cloud Monitoring's schema 1.2 example; every sample): an open one with an end came through
    something else (a relay, a hand-written payload), and which state holds is unknown. Only an open incident
    may lead to an action, so it is not guessed open. (A closed one is taken as it says, whatever
    its times: a close only ever holds actions back.) The console's test notification says
    `"ended_at": 0` while OPEN: its placeholder, not an end. So does a relay that writes an unset end as
    its type's zero (proto3's JSON printer with default values emitted, a Go struct's int64): 0 is the
    default of an integer field ("Fields with default values are omitted by default in proto3 JSON
    output", the proto3 language guide's JSON options), and no end of a schema-1.2 incident (before
    _EARLIEST_START). An OPEN with `ended_at` 0 was rejected, and its failure never diagnosed; it is read
    as having no end. (A CLOSED keeps its 0: an end before its start shows no recovery, recovery_doubt.)"""
    ended = incident.ended_at
    if ended == 0 and incident.is_open and not incident.is_test:
        return incident.model_copy(update={"ended_at": None})
    if ended is not None and incident.is_open and not incident.is_test:
        raise IncidentParseError("incident.ended_at", (
            f"the incident is 'open' but ended at {ended} ({_utc(ended)}): an open incident has no end, so which of "
            "the two holds is unknown; nothing is acted on"))
    return incident


def _utc(seconds: int) -> str:
    return f"{datetime.fromtimestamp(seconds, timezone.utc):%Y-%m-%dT%H:%M:%SZ}"


def _json_object(raw: bytes | str, where: str, limit: int) -> Mapping[str, Any]:
    """Size check, UTF-8 decode and JSON parse, in that order; the result must be an object."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if not isinstance(raw, (bytes, bytearray)):
        raise IncidentParseError(where, f"expected JSON text, got {type(raw).__name__}")
    if len(raw) > limit:
        raise IncidentParseError(where, f"{len(raw)} bytes is over the {limit}-byte limit")
    try:
        # One byte order mark at the start is ignored ("utf-8-sig"), as RFC 8259 section 8.1 allows a parser:
        # some relays and .NET or PowerShell writers prepend one, and json.loads refuses it.
        text = bytes(raw).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise IncidentParseError(where, f"not UTF-8 text (byte {e.start})") from None
    try:
        doc = json.loads(text, object_pairs_hook=_unique_keys, parse_int=whole_number)
    except NumberTooLong as e:   # valid by JSON's grammar, but no Python value
        raise IncidentParseError(where, f"not valid JSON ({e.said(text)})") from None
    except _DuplicateKey as e:
        raise IncidentParseError(where, f"the key {e.key!r} appears twice in one object: which value is meant is "
                                 "ambiguous, so neither is used") from None
    except json.JSONDecodeError as e:
        raise IncidentParseError(where, f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:
        raise IncidentParseError(where, "not valid JSON (nested too deeply)") from None
    except ValueError as e:   # any other value json's grammar allows and Python cannot hold
        raise IncidentParseError(where, f"not valid JSON ({str(e)[:120]})") from None
    if not isinstance(doc, dict):
        raise IncidentParseError(where, f"expected a JSON object, got {_batched(doc) or _json_kind(doc)}")
    if "\\ud" in text or "\\uD" in text:   # a UTF-16 escape: most are whole pairs (an emoji, escaped)
        lone = _lone_surrogate(doc)
        if lone is not None:
            raise IncidentParseError(lone, "not Unicode text: a lone UTF-16 surrogate escape (a character pair cut "
                                     "in two on the way)")
    return doc


def _batched(doc: Any) -> str:
    """What an array of notifications is, said: a Pub/Sub channel's message is one notification (the documented
    schema 1.2 example is one `incident` object, as is every sample; that Monitoring never batches them is
    UNCONFIRMED, and an array is refused whoever made it), so a relay batched them. Before, "got array" alone, every
    incident in it unnamed; "" for any other value."""
    if not isinstance(doc, list) or not doc or not all(isinstance(d, dict) and "incident" in d for d in doc):
        return ""
    ids = [str(d["incident"].get("incident_id", "?"))[:40] if isinstance(d["incident"], dict) else "?" for d in doc]
    more = ", …" if len(ids) > 4 else ""
    return (f"an array of {len(doc)} Monitoring notification(s) (incident {', '.join(map(repr, ids[:4]))}{more}): a "
            "notification is one message, so something between Monitoring and Runwarden batched them; none was read "
            "or done: have it publish each as a message of its own, or route the policies to a person's channel")


def _lone_surrogate(value: Any, path: str = "") -> str | None:
    """The path of the first string (or key) holding a lone surrogate, which JSON's \\u escapes can
    write and UTF-8 cannot: kept, it fails wherever the text is encoded again (the Incident model,
    the outcome, Firestore) as an unexpected error, not as the input's."""
    if isinstance(value, str):
        return (path or "notification") if not _encodable(value) else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and not _encodable(key):
            return where
        found = _lone_surrogate(item, where)
        if found is not None:
            return found
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Python's json keeps the last of a repeated key silently, other readers the first (RFC 8259 4:
    # names "SHOULD be unique"). Monitoring's serializer writes each field once (every sample in
    # tests/fixtures/samples); a notification with `"state": "closed"` and then `"state": "open"`
    # came through something else, and must not be acted on for whichever came last.
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        raise _DuplicateKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return data


def _b64decode(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise IncidentParseError(field, f"expected a base64 string, got {_json_kind(value)}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise IncidentParseError(field, f"not valid base64: {_why_not_base64(value)}") from None


def _why_not_base64(value: str) -> str:
    """What keeps `value` from decoding, so a sender can fix it: "not valid base64" alone left them to
    find it. A push's `message.data` is the ProtoJSON form of `bytes`, "standard base64 encoding with
    paddings" (protobuf docs, "ProtoJSON Format"; the same page lets a parser also accept URL-safe and
    unpadded forms). That Pub/Sub's push never sends those is UNCONFIRMED; a body in them came from
    something other than a push and is refused as before, now saying why."""
    stray = next(((i, c) for i, c in enumerate(value) if not (c.isascii() and (c.isalnum() or c in "+/="))), None)
    if stray is not None:
        return (f"{stray[1]!r} at character {stray[0]} is not in the standard base64 alphabet "
                "(A-Z, a-z, 0-9, + and /, = to pad)")
    if len(value) % 4:
        return f"{len(value)} characters, not a multiple of 4: its '=' padding is missing or it was cut short"
    return "'=' may only pad its end"


def _validate(model: type[BaseModel], data: Any, prefix: str = "") -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        # A field given twice is found by its model's validator, at the model's place: named down to the field.
        field = (first.get("ctx") or {}).get("field", "") if first["type"] == _TWO_SPELLINGS else ""
        path = ".".join(str(part) for part in (prefix, *first["loc"], field) if part != "")
        raise IncidentParseError(path or prefix, _reason(first)) from None


def _reason(error: Mapping[str, Any]) -> str:
    kind, got = error["type"], _json_kind(error.get("input"))
    if kind == "missing":
        return "is required"
    if kind.startswith(("datetime", "date_")):
        return f"expected an RFC 3339 timestamp, got {_shown(error.get('input'))}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected an object, got {got}"
    if kind == "string_type" and error["loc"][-1:] in (("threshold_value",), ("observed_value",)):
        # Schema 1.2 writes both as strings ("threshold_value": "0.9", "observed_value": "0.835": the documented
        # example, every sample); a number is read as its text (coerce_numbers_to_str).
        shown = json.dumps(error.get("input"), default=str)
        return (f"expected the value as a string (like \"0.9\") or a number, got {got} "
                f"{shown if len(shown) <= 60 else shown[:57] + '...'}")
    if kind in ("string_type", "tuple_type", "list_type", "int_type", "bool_type"):
        expected = {"string_type": "a string", "int_type": "an integer", "bool_type": "a boolean"}.get(kind, "an array")
        return f"expected {expected}, got {got}"
    return str(error["msg"])
