"""Which responses a request_count condition's numerator counts, read from every comparison of the code its filter
makes exactly (code_filters.exact_metric_codes), not from its equalities alone.

Before, `health_bar.numerator_codes` read only `=` and `one_of`: a numerator of `response_code >= "500"` or of the
5xx class but 504 (`AND response_code != "504"`) was "not read", so a policy on 5xx written that way was never
judged `healthy`; and an equality joined by OR to a comparison of something else
(`response_code_class = "5xx" OR resource.labels.service_name = "a"`, which counts every code of `a`) was read as
the 5xx class alone, judged on the 5xx and 429 the check reads. Now `!=`, `<`, `>=`, ranges, `one_of` and NOT are
read where exact; a regular expression, `:`, another function, or a comparison of something else joined by OR keep
None (not judged, the safe side)."""
from __future__ import annotations

import pytest

from shared.alerts.incidents import parse_notification
from shared.config import DiagnosisSettings
from shared.diagnosis.health_bar import counts_only_server_errors, health_bar, numerator_codes
from shared.diagnosis.scope import alert_context

from tests.unit.test_condition_units import ALL, notification, threshold

S = DiagnosisSettings()
CODE = "metric.labels.response_code"
CLASS = "metric.labels.response_code_class"
BUT_504 = frozenset(str(c) for c in range(500, 600) if c != 504)

# name: (the numerator's terms after the metric and resource, the codes read, judged on the 5xx and 429 the check reads)
NUMERATORS = {
    "the 5xx class": (f'{CLASS}="5xx"', {"5xx"}, True),
    "codes from 500 (>=, quoted)": (f'{CODE}>="500"', {"5xx"}, True),
    "codes from 500 (>=, a number)": (f"{CODE} >= 500", {"5xx"}, True),
    "codes over 499 (>)": (f'{CODE}>"499"', {"5xx"}, True),
    "a range, 500 to 599": (f'{CODE}>="500" AND {CODE}<"600"', {"5xx"}, True),
    "a range, 500 to 503": (f'{CODE}>="500" AND {CODE}<="503"', {"500", "501", "502", "503"}, True),
    "the 5xx class but 504 (!=)": (f'{CLASS}="5xx" AND {CODE}!="504"', BUT_504, True),
    "the 5xx class but 504 (NOT)": (f'{CLASS}="5xx" AND NOT {CODE}="504"', BUT_504, True),
    "5xx or 429": (f'({CLASS}="5xx" OR {CODE}="429")', {"5xx", "429"}, True),
    "one_of 500 and 503": (f'{CODE}=one_of("500", "503")', {"500", "503"}, True),
    "not 2xx (!=)": (f'{CLASS}!="2xx"', {"1xx", "3xx", "4xx", "5xx"}, False),
    "under 500 (<)": (f'{CODE}<"500"', {"1xx", "2xx", "3xx", "4xx"}, False),
    "codes from 400 (>=)": (f'{CODE}>="400"', {"4xx", "5xx"}, False),
    "5xx, but another service's every code (OR)": (f'{CLASS}="5xx" OR resource.labels.service_name="a"', None,
                                                    False),
    "5xx, but not service a (AND NOT)": (f'{CLASS}="5xx" AND NOT resource.labels.service_name="a"', {"5xx"}, True),
    "a regular expression": (f'{CODE}=monitoring.regex.full_match("5..")', None, False),
    "starts_with": (f'{CLASS}=starts_with("5")', None, False),
    "has (:)": (f'{CODE}:"5"', None, False),
    "an ordered comparison of a longer value": (f'{CODE}>="5000"', None, False),
    "no code at all (5xx and 4xx)": (f'{CLASS}="5xx" AND {CLASS}="4xx"', None, False),
}


def _alert(terms: str):
    condition = threshold("ALIGN_RATE", ALL, bar=0.005)
    condition["conditionThreshold"]["filter"] = f"{ALL} AND {terms}"
    document = notification(condition, threshold="0.005")
    document["incident"]["metric"]["labels"] = {}
    return alert_context(parse_notification(document))


@pytest.mark.parametrize("name", NUMERATORS)
def test_the_numerator_is_read_from_every_exact_comparison_of_the_code(name):
    terms, codes, judged = NUMERATORS[name]
    alert = _alert(terms)

    read = numerator_codes(alert)

    assert read == (None if codes is None else frozenset(codes)), read
    assert counts_only_server_errors(alert) is judged
    bar = health_bar(alert, S)
    assert bar.judged is judged, bar.why_not


def test_a_filter_comparing_no_code_reads_as_every_response():
    assert numerator_codes(_alert('resource.labels.service_name="a"')) == frozenset()
