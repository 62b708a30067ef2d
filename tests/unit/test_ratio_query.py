"""Which PromQL and MQL conditions are the share of a service's requests that failed (`ratio_query`).

Before, any quotient of two `request_count` sums compared upward was read as a share: a 4xx share, one
service's 5xx over another's requests, each service's 5xx over the whole project's (`on() group_left`)
made its threshold the health bar and request_timeout's share bar; and forms teams write were missed
(`ignoring(response_code_class)`, `increase`, `sum(...) by (...)`, the metric as `{__name__=...}`,
MQL `filter_ratio_by` and `join | div`). Now a query is a share only when its numerator is the 5xx (or
one 5xx code) of request_count and its denominator all of the same requests, in the same function,
window and grouping; any other form is not a share (its bar unknown, never `healthy` from it)."""
from __future__ import annotations

import pytest

from shared.alerts.incidents import ratio_query

BY = "sum by (project_id, location, service_name)"
M = "run_googleapis_com:request_count"


def promql(numerator: str, denominator: str, between: str = "", tail: str = " > 0.02") -> str:
    return f"{numerator} / {between}{denominator}{tail}"


FIVE = f'{BY} (rate({M}{{response_code_class="5xx"}}[5m]))'
ALL = f"{BY} (rate({M}[5m]))"

FETCH = "fetch cloud_run_revision::run.googleapis.com/request_count"
GROUP = "group_by [resource.project_id, resource.location, resource.service_name], sum(val())"
COND = "every 1m | condition val() > 0.02 '1'"

# name: (query, a share of requests that failed)
QUERIES = {
    # PromQL, shares
    "5xx over all, sum by": (promql(FIVE, ALL), True),
    "ignoring(response_code_class)": (promql(FIVE, ALL, "ignoring(response_code_class) "), True),
    "on(the grouping)": (promql(FIVE, ALL, "on(project_id, location, service_name) "), True),
    "on(grouping) group_left": (promql(FIVE, ALL, "on(service_name, location, project_id) group_left "), True),
    "increase over increase": (promql(f'{BY} (increase({M}{{response_code_class="5xx"}}[10m]))',
                                      f"{BY} (increase({M}[10m]))"), True),
    "sum(...) by (...) after": (promql(f'sum(rate({M}{{response_code_class="5xx",service_name="api"}}[5m])) by '
                                       "(service_name)", f'sum(rate({M}{{service_name="api"}}[5m])) by (service_name)'),
                                True),
    "one service selected on both sides": (promql(f'sum(rate({M}{{service_name="api",response_code_class="5xx"}}[5m]))',
                                                  f'sum(rate({M}{{service_name="api"}}[5m]))'), True),
    "__name__ with the Monitoring type": (promql(
        'sum(rate({__name__="run.googleapis.com/request_count",response_code_class="5xx"}[5m]))',
        'sum(rate({__name__="run.googleapis.com/request_count"}[5m]))'), True),
    "UTF-8 quoted name": (promql('sum(rate({"run.googleapis.com/request_count",response_code_class="5xx"}[5m]))',
                                 'sum(rate({"run.googleapis.com/request_count"}[5m]))'), True),
    "504 of all (one 5xx code)": (promql(f'sum(rate({M}{{response_code="504"}}[5m]))', f"sum(rate({M}[5m]))"), True),
    "parenthesised, >= and a comment": ("# 5xx share\n(" + promql(FIVE, f"({ALL})", tail=")\n  >= 0.02"), True),
    # PromQL, not shares
    "4xx over all": (promql(FIVE.replace("5xx", "4xx"), ALL), False),
    "all 2xx under a floor": (promql(FIVE.replace("5xx", "2xx"), ALL, tail=" < 0.99"), False),
    "5xx of one service over another's": (promql(
        f'sum(rate({M}{{service_name="api",response_code_class="5xx"}}[5m]))',
        f'sum(rate({M}{{service_name="web"}}[5m]))'), False),
    "each service's 5xx over the project's (on() group_left)": (promql(
        f'sum by (service_name) (rate({M}{{response_code_class="5xx"}}[5m]))', f"sum(rate({M}[5m]))",
        "on() group_left "), False),
    "on() under a grouping by service": (promql(FIVE, ALL, "on() "), False),
    "ignoring the grouped label": (promql(FIVE, ALL, "ignoring(service_name) "), False),
    "denominator grouped by class": (promql(
        FIVE, f"sum by (project_id, location, service_name, response_code_class) (rate({M}[5m]))",
        "ignoring(response_code_class) group_right "), False),
    "grouped by service over ungrouped, no matching (never matches)": (promql(
        f'sum by (service_name) (rate({M}{{response_code_class="5xx"}}[5m]))', f"sum(rate({M}[5m]))"), False),
    "recording rules named after request_count": (promql('sum(job:request_count:rate5m{response_code_class="5xx"})',
                                                         "sum(job:request_count:rate5m)"), False),
    "5xx over 5xx": (promql(FIVE, FIVE), False),
    "bool comparison (0 or 1)": (promql(FIVE, ALL, tail=" > bool 0.02"), False),
    "a percentage (* 100)": (f"({promql(FIVE, ALL, tail='')}) * 100 > 2", False),
    "recording rule": ("service:run_request_errors:ratio_rate5m > 0.02", False),
    "recording rule over request_count": (promql("sum(service:run_5xx:rate5m)", f"sum(rate({M}[5m]))"), False),
    "rate over increase": (promql(f'sum(rate({M}{{response_code_class="5xx"}}[5m]))',
                                  f"sum(increase({M}[5m]))"), False),
    "different windows": (promql(f'sum(rate({M}{{response_code_class="5xx"}}[1m]))', f"sum(rate({M}[1h]))"), False),
    "another metric in the denominator": (promql(FIVE, f"{BY} (rate(run_googleapis_com:container_instance_count[5m]))"),
                                          False),
    "non-5xx over all": (promql(f'sum(rate({M}{{response_code_class!="5xx"}}[5m]))', f"sum(rate({M}[5m]))"), False),
    "a 5xx rate, no quotient": (f"{FIVE} > 0.02", False),
    "success share is 1 minus": (f"1 - {promql(FIVE.replace('5xx', '2xx'), ALL, tail='')} > 0.02", False),
    "sum without": (promql(f'sum without (response_code_class) (rate({M}{{response_code_class="5xx"}}[5m]))',
                           f"sum without (response_code_class) (rate({M}[5m]))"), False),
    # PromQL forms teams write that are not read: never a share (the 504 bar stays the settings', and a
    # query condition is never judged `healthy` whatever it is): a guard against a zero denominator, a
    # zero when no 5xx series exists, a shifted window, a traffic floor joined by `and`, per-second
    # rates of the last two points, averages and maxima of series, a regular expression over codes.
    "clamp_min denominator": (promql(FIVE, f"clamp_min({ALL}, 1)"), False),
    "or vector(0) numerator": (promql(f"({FIVE} or vector(0))", ALL), False),
    "offset on both sides": (promql(f'{BY} (rate({M}{{response_code_class="5xx"}}[5m] offset 5m))',
                                    f"{BY} (rate({M}[5m] offset 5m))"), False),
    "a traffic floor joined by and": (promql(FIVE, ALL, tail=f" > 0.02 and {ALL} > 1"), False),
    "the bar on the left": (f"0.02 < {promql(FIVE, ALL, tail='')}", False),
    "irate": (promql(f'{BY} (irate({M}{{response_code_class="5xx"}}[5m]))', f"{BY} (irate({M}[5m]))"), False),
    "avg by": (promql(f'avg by (service_name) (rate({M}{{response_code_class="5xx"}}[5m]))',
                      f"avg by (service_name) (rate({M}[5m]))"), False),
    "5xx or 4xx by regular expression": (promql(f'{BY} (rate({M}{{response_code_class=~"5xx|4xx"}}[5m]))', ALL),
                                         False),
    "50[234] by regular expression": (promql(f'{BY} (rate({M}{{response_code=~"50[234]"}}[5m]))', ALL), False),
    "the bar in scientific notation": (promql(FIVE, ALL, tail=" > 2e-2"), True),
    # MQL, shares
    "MQL ratio with ident": (f"{FETCH} | {{filter metric.response_code_class == '5xx' ; ident}} | {GROUP} | ratio | "
                             f"{COND}", True),
    "MQL filter_ratio_by": (f"{FETCH} | filter_ratio_by [resource.service_name], metric.response_code_class == '5xx'"
                            f" | {COND}", True),
    "MQL two fetches joined, div": (
        f"{{ t_0: {FETCH} | filter metric.response_code_class == '5xx' | align rate(1m) | {GROUP} ;"
        f" t_1: {FETCH} | align rate(1m) | {GROUP} }} | join | div | {COND}", True),
    # MQL, not shares
    "MQL ratio of 4xx": (f"{FETCH} | {{filter metric.response_code_class == '4xx' ; ident}} | {GROUP} | ratio | "
                         f"{COND}", False),
    "MQL filter_ratio_by 4xx": (f"{FETCH} | filter_ratio_by [resource.service_name], "
                                f"metric.response_code_class == '4xx' | {COND}", False),
    "MQL ratio, denominator another service": (
        f"{{ t_0: {FETCH} | filter resource.service_name == 'api' | filter metric.response_code_class == '5xx' ;"
        f" t_1: {FETCH} | filter resource.service_name == 'web' }} | join | div | {COND}", False),
    "MQL ratio of another metric": (
        "fetch cloud_run_revision::run.googleapis.com/container/instance_count | {filter "
        f"metric.state == 'active' ; ident}} | ratio | {COND}", False),
    "MQL ratio in percent": (f"{FETCH} | {{filter metric.response_code_class == '5xx' ; ident}} | ratio | every 1m | "
                             "condition val() > 2 '%'", False),
    "MQL rate": (f"{FETCH} | filter metric.response_code_class == '5xx' | align rate(1m) | {COND}", False),
    "MQL ratio of 5xx over 5xx": (
        f"{{ t_0: {FETCH} | filter metric.response_code_class == '5xx' ;"
        f" t_1: {FETCH} | filter metric.response_code_class == '5xx' }} | join | div | {COND}", False),
}


@pytest.mark.parametrize("name", QUERIES)
def test_a_share_only_of_5xx_over_all_of_the_same_requests(name):
    query, share = QUERIES[name]
    assert ratio_query(query) is share, query
