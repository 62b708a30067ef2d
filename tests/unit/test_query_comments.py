"""A comment in a PromQL query is no part of what it counts: "PromQL supports line comments that start with #"
(Prometheus, "Querying basics", "Comments"). The readers of a query's counted part read it without its comments
(code_filters.uncommented_query): the levels a count of log entries lets through (`query_quiet_levels`), the codes a
request count selects (`query_selection`, `downward_selection`, and whether it is a latency's), and the services its
selectors name (query_names). An MQL `#` is removed the same way (UNCONFIRMED that MQL reads it as a comment: a query
that does not parse fires nothing, so only that reading reaches Runwarden).

Before, `rate(...{...,severity="INFO"}[5m]) > 20 # was severity="ERROR"` was read as counting ERROR too and rolled a
failing deploy back, where the same query without its comment is held; a 4xx count's comment with a `/`, a `-` or a
`<` hid its selection (not read as arithmetic understood), and it acted on the live 5xx; a comment naming another
class made a count select no response at all. The notifications are bad_revision's own (schema 1.2)."""
from __future__ import annotations

import pytest

from shared.alerts.code_filters import query_quiet_levels
from shared.alerts.incidents import parse_notification
from shared.alerts.present_failure import alert_hold
from shared.alerts.query_names import query_names, selects_alone
from shared.alerts.response_selection import unselected_responses
from shared.outcomes import OutcomeStatus
from tests.unit.test_alert_response_selection import _query as _request_query
from tests.unit.test_log_entry_count_alerts import _answer, _notification, _query

PROMQL = "conditionPrometheusQueryLanguage"
ENTRIES = ('rate(logging_googleapis_com:log_entry_count{monitored_resource="cloud_run_revision",service_name="backend",'
           'severity="LEVEL"}[5m]) > 20')
INFO, ERROR = ENTRIES.replace("LEVEL", "INFO"), ENTRIES.replace("LEVEL", "ERROR")
INFO_NAMING_ERROR = f'{INFO} # was severity="ERROR"'
MQL_INFO = ("fetch cloud_run_revision::logging.googleapis.com/log_entry_count\n| filter resource.service_name == "
            "'backend' && metric.severity == 'INFO'   # was metric.severity == 'ERROR'\n"
            "| align rate(1m) | every 1m | condition val() > 20 '1/s'")

# query: the levels it counts, read as without its comment (each row but the controls read "" on hunt37).
LEVELS = [
    (INFO_NAMING_ERROR, "INFO"),
    (f"{INFO} # INFO / all - see the runbook", "INFO"),
    (f"{INFO} # fired when < 20 was too quiet", "INFO"),
    (INFO.replace(" > 20", "\n# / sum(rate(logging_googleapis_com:log_entry_count[5m]))\n > 20"), "INFO"),  # control
    (MQL_INFO, "INFO"),
    (f'{ERROR} # not severity="INFO"', ""),                                 # control
    (f"{INFO} # a \"quoted\" word", "INFO"),                                 # control
    (INFO.replace('severity="INFO"', 'severity="INFO",log="a#b"'), "INFO"),  # control: a `#` in a string
]


@pytest.mark.parametrize("query, levels", LEVELS, ids=[q[-40:] for q, _ in LEVELS])
def test_the_levels_a_count_lets_through_are_read_without_its_comments(query, levels):
    assert query_quiet_levels(query) == levels


def test_an_info_count_whose_comment_names_error_is_held():
    reason = alert_hold(parse_notification(_notification("bad_revision", _query(PROMQL, INFO_NAMING_ERROR))))

    assert "counts log entries below WARNING" in reason and "only INFO, in" in reason, reason


def test_a_failing_deploy_under_an_info_count_whose_comment_names_error_is_not_rolled_back():
    answer, world = _answer("bad_revision", _query(PROMQL, INFO_NAMING_ERROR))

    assert answer.status is OutcomeStatus.ESCALATED, answer.reason
    assert world.standins.run.count("UpdateService") == 0


_RUN = "run_googleapis_com:request_count"
_CLASS = f'sum by (service_name)(rate({_RUN}{{service_name="backend",response_code_class="CLASS"}}[5m])) > 5'
_4XX, _5XX, _2XX = (_CLASS.replace("CLASS", c) for c in ("4xx", "5xx", "2xx"))
_SHARE_5XX = (f'sum by (service_name)(rate({_RUN}{{service_name="backend",response_code_class="5xx"}}[5m])) / '
              f'sum by (service_name)(rate({_RUN}{{service_name="backend"}}[5m])) < 0.05')
# query: the words of the hold ("" not held). A 4xx count is held, a 5xx one is not, whatever their comments say.
REQUESTS = [
    (f'{_4XX} # was response_code_class="5xx"', "alerted on 4xx responses"),     # "no responses" on hunt37
    (f"{_4XX} # 4xx / all - see the runbook", "alerted on 4xx responses"),       # acted on hunt37
    (f"{_4XX} # page when > 5 a second, not < 1", "alerted on 4xx responses"),   # acted on hunt37
    (f"{_2XX} # request_latencies has its own policy", "alerted on 2xx responses"),  # acted on hunt37 as a latency
    (f'{_5XX} # not response_code_class="4xx"', ""),                              # "no responses" on hunt37
    (f"{_SHARE_5XX} # was > 0.05", "fires when its 5xx responses fall below its bar"),  # acted on hunt37
    (_4XX, "alerted on 4xx responses"),                                           # control
    (_5XX, ""),                                                                   # control
]


@pytest.mark.parametrize("query, words", REQUESTS, ids=[q[-45:] for q, _ in REQUESTS])
def test_the_responses_a_request_count_selects_are_read_without_its_comments(query, words):
    reason = unselected_responses(_request_query("promql", query))

    if not words:
        assert reason == "", reason
        return
    assert words in reason and "nothing was written" in reason, reason


def test_a_selector_in_a_comment_names_no_service():
    query = f'{_5XX} # copied from {_RUN}{{service_name="frontend"}}'

    assert query_names(query).services == ("backend",)
    assert selects_alone(query, "service_name", "backend")
