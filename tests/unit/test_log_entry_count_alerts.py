"""A threshold on Cloud Logging's own count of the entries a service writes (`logging.googleapis.com/log_entry_count`,
and `byte_count`, their bytes), by the entry's `severity` metric label, is read as a log match of those levels is
(present_failure._quiet_count, code_filters.metric_quiet_levels and query_quiet_levels): a count of DEBUG, INFO or
NOTICE entries only, by its crossed series' `metric.labels`, its filter (`metric.labels.severity="INFO"`,
`one_of("INFO", "NOTICE")`) or its PromQL or MQL query's numerator (`severity="INFO"`, `metric.severity == 'INFO'`),
compared upward, counts the service's ordinary work and states no failure; a count of ERROR entries, of DEFAULT ones (plain
stdout and stderr), of every level, or one whose severity comparison is not read, takes the usual path. Compared
downward either is a floor on activity (present_failure._ACTIVITY: fewer lines written).

Before, "backend INFO lines above 1000 a minute" rolled back a failing deploy, and on a saturated connector proposed to
scale it, as a present failure's alert would; so did "backend wrote under 100 lines a minute" (a floor). The
notifications are the scenarios' own (schema 1.2), their condition and metric changed as public alert policies write
them (`metric.type="logging.googleapis.com/log_entry_count" AND resource.type="cloud_run_revision" AND
metric.labels.severity="ERROR"`): pure rows first, then the pipeline's own entry point on in-process parts."""
from __future__ import annotations

import json

import pytest

from shared.alerts.code_filters import metric_quiet_levels
from shared.alerts.incidents import parse_notification
from shared.alerts.present_failure import unstated_failure
from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR
from tests.unit.test_activity_floors import _notification

ENTRIES = "logging.googleapis.com/log_entry_count"
BYTES = "logging.googleapis.com/byte_count"
RUN = 'resource.type="cloud_run_revision" AND resource.labels.service_name="backend"'


def _count(metric: str = ENTRIES, selects: str = "", series: dict | None = None, comparison: str = "COMPARISON_GT",
           bar: float = 1000, observed: str = "3000"):
    """The notification changed to a threshold on `metric` of backend's entries, its filter adding `selects`, its
    crossed series labelled `series`."""
    def change(incident: dict) -> None:
        body = {"filter": f'metric.type="{metric}" AND {RUN}' + (f" AND {selects}" if selects else ""),
                "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_RATE"}],
                "comparison": comparison, "thresholdValue": bar, "duration": "60s", "trigger": {"count": 1}}
        incident["condition"] = {"name": incident["condition"]["name"], "displayName": f"log lines vs {bar:g}",
                                 "conditionThreshold": body}
        incident["condition_name"] = incident["condition"]["displayName"]
        incident["metric"] = {"type": metric, "displayName": "Log entries", "labels": dict(series or {})}
        incident.update(observed_value=observed, threshold_value=f"{bar:g}")
    return change


def _query(kind: str, query: str):
    """The notification's condition changed to a PromQL or MQL condition (conditionPrometheusQueryLanguage,
    conditionMonitoringQueryLanguage, google/monitoring/v3/alert.proto) of `query`."""
    def change(incident: dict) -> None:
        condition = incident["condition"]
        incident["condition"] = {"name": condition["name"], "displayName": condition["displayName"],
                                 kind: {"query": query, "duration": "0s"}}
    return change


# A PromQL selector of backend's entries ("Mapping Cloud Monitoring metrics to PromQL": the metric's first `/` a `:`,
# its dots `_`) and an MQL fetch of them ("Alerting policies with MQL").
PROMQL = ('sum by (service_name) (rate(logging_googleapis_com:log_entry_count{monitored_resource="cloud_run_revision",'
          'service_name="backend",SEVERITY}[5m])) > 20')
MQL = ("fetch cloud_run_revision::logging.googleapis.com/log_entry_count | filter resource.service_name == 'backend' "
       "&& SEVERITY | align rate(1m) | every 1m | condition val() > 20 '1/s'")


def _promql(severity: str):
    return _query("conditionPrometheusQueryLanguage", PROMQL.replace("SEVERITY", severity))


def _mql(severity: str, query: str = MQL):
    return _query("conditionMonitoringQueryLanguage", query.replace("SEVERITY", severity))


# name: (change, the words of the reason). Each acted on before, the PromQL rows too (summed by service_name).
QUIET = {
    "INFO entries, by the crossed series": (_count(series={"severity": "INFO", "log": "run.googleapis.com/stdout"}),
                                            "its series' metric.labels (severity 'INFO')"),
    "INFO entries, by the filter": (_count(selects='metric.labels.severity="INFO"'), "lets through only INFO entries"),
    "INFO or NOTICE entries, by one_of": (_count(selects='metric.label.severity = one_of("INFO", "NOTICE")'),
                                          "lets through only INFO, NOTICE entries"),
    "every level but DEFAULT and WARNING up, by a negated one_of": (
        _count(selects='NOT metric.labels.severity=one_of("DEFAULT", "WARNING", "ERROR", "CRITICAL", "ALERT", '
                       '"EMERGENCY")'), "lets through only DEBUG, INFO, NOTICE entries"),
    "DEBUG bytes, by the crossed series": (_count(BYTES, series={"severity": "DEBUG"}),
                                           "its series' metric.labels (severity 'DEBUG')"),
    "a floor on every entry": (_count(comparison="COMPARISON_LT", bar=100, observed="3"),
                               "the count of log entries written (logging.googleapis.com/log_entry_count) drops below"),
    "a floor on the bytes written": (_count(BYTES, comparison="COMPARISON_LT", bar=1e5, observed="12"),
                                     "the bytes of log entries written"),
    "INFO entries, by a PromQL matcher": (_promql('severity="INFO"'), "only INFO, in"),
    "INFO or NOTICE entries, by a PromQL regular expression": (_promql('severity=~"INFO|NOTICE"'), "only INFO, NOTICE"),
    "INFO entries, by an MQL filter": (_mql("metric.severity == 'INFO'"), "only INFO, in"),
    # Its table written short, `fetch` left out ("About the MQL language", "Shortcuts for table operations"), with or
    # without spaces around `::`: read as PromQL on main, and the failing deploy rolled back.
    "INFO entries, by an MQL filter, its table written short": (
        _mql("metric.severity == 'INFO'", MQL.removeprefix("fetch ")), "only INFO, in"),
    "INFO entries, by an MQL filter, its table written short with spaces around ::": (
        _mql("metric.severity == 'INFO'", MQL.removeprefix("fetch ").replace("::", " :: ")), "only INFO, in"),
}

# A present failure, or a count that may hold one: the usual path, as before.
STATED = {
    "ERROR entries, by the crossed series": _count(series={"severity": "ERROR"}, bar=10, observed="30"),
    "ERROR entries, by the filter": _count(selects='metric.labels.severity="ERROR"', bar=10, observed="30"),
    "DEFAULT entries (plain stderr lines)": _count(selects='metric.labels.severity="DEFAULT"'),
    "every entry, no level selected": _count(),
    "INFO, or anything of the stderr log": _count(
        selects='(metric.labels.severity="INFO" OR metric.labels.log="run.googleapis.com/stderr")'),
    "not ERROR (INFO and WARNING among the rest)": _count(selects='metric.labels.severity!="ERROR"'),
    "a severity compared as text, not read": _count(selects='metric.labels.severity>="WARNING"'),
    "ERROR entries, by a PromQL matcher": _promql('severity="ERROR"'),
    "INFO or ERROR entries, by an MQL filter": _mql("(metric.severity == 'INFO' || metric.severity == 'ERROR')"),
    # The crossed series names the level that crossed: WARNING, though the filter lets INFO through too.
    "WARNING entries, by the crossed series": _count(selects='metric.labels.severity=one_of("INFO", "WARNING")',
                                                     series={"severity": "WARNING"}),
}


@pytest.mark.parametrize("name", QUIET)
def test_a_count_of_quiet_entries_or_a_floor_on_entries_states_no_present_failure(name):
    change, words = QUIET[name]

    reason = unstated_failure(parse_notification(_notification("bad_revision", change)))

    assert words in reason and "nothing was written" in reason, reason


@pytest.mark.parametrize("name", STATED)
def test_a_count_of_failures_or_of_every_level_takes_the_usual_path(name):
    assert unstated_failure(parse_notification(_notification("bad_revision", STATED[name]))) == ""


@pytest.mark.parametrize("text, levels", [
    ('metric.labels.severity="INFO"', "INFO"),
    ('metric.labels."severity"="debug"', "DEBUG"),
    ('metric.labels.severity=starts_with("INF")', "INFO"),
    ('metric.labels.severity=one_of("INFO", "ERROR")', ""),
    ('metric.labels.severity="INFO" OR resource.labels.service_name="backend"', ""),
    ('metric.labels.severity="INFO" AND resource.labels.service_name="backend"', "INFO"),
    ('metric.labels.severity>="WARNING"', ""),
    ('metric.labels.severity="DEFAULT"', ""),
    ('resource.type="cloud_run_revision"', ""),
    # `severity` alone is a log entry's field (a log match's), not a metric label: not read here.
    ('severity="INFO"', ""),
])
def test_the_severity_metric_label_is_read_over_the_levels(text, levels):
    assert metric_quiet_levels(text) == levels


def _answer(scenario: str, change):
    world = FastWorld(seeded_copy(scenario, None), ANCHOR)
    return handle_alert(event(json.dumps(_notification(scenario, change)).encode(), "1"), world.config,
                        world.adapters), world


def _held(scenario: str, name: str, action: str):
    """The answer to QUIET[name] on `scenario`: escalated in its words, `action` planned and not made."""
    change, words = QUIET[name]
    answer, world = _answer(scenario, change)
    assert answer.status is OutcomeStatus.ESCALATED, answer.reason
    assert words in answer.reason and "nothing was written" in answer.reason, answer.reason
    assert answer.action is not None and answer.action.name == action, answer.action
    return answer, world


@pytest.mark.parametrize("name", ["INFO entries, by the crossed series", "INFO or NOTICE entries, by one_of",
                                  "a floor on every entry", "INFO entries, by an MQL filter",
                                  "INFO entries, by an MQL filter, its table written short",
                                  "INFO entries, by an MQL filter, its table written short with spaces around ::"])
def test_a_failing_revision_under_a_count_of_quiet_entries_is_diagnosed_and_not_rolled_back(name):
    answer, world = _held("bad_revision", name, "rollback_traffic")

    assert answer.diagnosis is not None and answer.diagnosis.signature == "bad_revision"
    assert answer.action.after is None and world.standins.run.count("UpdateService") == 0


def test_a_failing_revision_under_a_count_of_error_entries_is_rolled_back():
    answer, world = _answer("bad_revision", STATED["ERROR entries, by the filter"])

    assert answer.status is OutcomeStatus.APPLIED, answer.reason
    assert world.standins.run.count("UpdateService") == 1


@pytest.mark.parametrize("name", ["INFO entries, by the crossed series", "a floor on every entry"])
def test_a_saturated_connector_under_a_count_of_quiet_entries_is_not_proposed(name):
    answer, world = _held("connector_saturation", name, "scale_connector")

    assert answer.action.proposal_id is None and world.standins.vpcaccess.count("UpdateConnector") == 0
