"""response_selection.compared_codes (the codes a downward alert's filter counts, for its hold) and
health_bar.numerator_codes (the codes a threshold's numerator counts, for `healthy`) read one filter through one
function, code_filters.exact_metric_codes. Pure: the documented bad_revision OPEN (backend-00002-xyz failing 60 % since
its deploy) with its condition turned downward, read by parse_notification (test_failures_below's `_ratio`).

Before, compared_codes read equalities alone, their AND, OR and NOT unread: `NOT (response_code_class = "5xx")` below
a bar (a success share falling: the failures' share rising) was read as the 5xx class and held as "few server
failures"; `response_code_class = "5xx" OR resource.labels.service_name = "a"` was the 5xx class to it and not read
exactly to exact_metric_codes. Now both agree; a write the equalities held stays held unless the exact reading shows
2xx counted (the safe side: where the exact reading is None, a reading of the other comparisons that leaves failures
and no 2xx counted holds). A selection of 4xx and 5xx below a bar counts no 2xx: held too, as few failures.

Sources: "Monitoring filters" (`=`, `!=`, `one_of`, NOT, AND, OR); MetricThreshold.comparison (COMPARISON_LT);
the request metrics' labels response_code_class and response_code ("Google Cloud metrics", run section)."""
from __future__ import annotations

import pytest

from shared.alerts.code_filters import code_words, exact_metric_codes
from shared.alerts.present_failure import alert_hold
from shared.alerts.response_selection import compared_codes
from shared.diagnosis.health_bar import numerator_codes
from shared.diagnosis.scope import alert_context
from tests.unit.test_failures_below import HELD_WORDS, _ratio

CLASS, CODE, SERVICE = "metric.labels.response_code_class", "metric.labels.response_code", "resource.labels.service_name"

# (name, the filter's selection, held: a failures-below hold made)
ROWS = [
    # The disagreements: equalities read alone against the exact reading.
    ("NOT around the 5xx class: a success share falling", f'NOT ({CLASS}="5xx")', False),
    ("a minus around the 5xx class", f'-({CLASS}="5xx")', False),
    ("NOT around 5xx or 429", f'NOT ({CLASS}="5xx" OR {CODE}="429")', False),
    ("the 5xx class, or every code of service a", f'({CLASS}="5xx" OR {SERVICE}="a")', True),
    ("the 5xx class of service a, or service b's", f'(({CLASS}="5xx" AND {SERVICE}="a") OR {SERVICE}="b")',
     True),
    ("5xx and 503", f'{CLASS}="5xx" AND {CODE}="503"', True),
    # Controls: both readings agree.
    ("the 5xx class", f'{CLASS}="5xx"', True),
    ("codes from 500", f'{CODE}>="500"', True),
    ("the 5xx class but 504", f'{CLASS}="5xx" AND {CODE}!="504"', True),
    ("the 5xx class, not service a", f'{CLASS}="5xx" AND NOT {SERVICE}="a"', True),
    ("every response but 5xx (!=)", f'{CLASS}!="5xx"', False),
    ("the success share", f'{CLASS}="2xx"', False),
    ("5xx or 4xx: no 2xx counted", f'({CLASS}="5xx" OR {CLASS}="4xx")', True),
    ("not 2xx, or service a: no 2xx where a adds none", f'(NOT {CLASS}="2xx" OR {SERVICE}="a")', True),
]


@pytest.mark.parametrize("name, selection", [r[:2] for r in ROWS], ids=[r[0] for r in ROWS])
def test_compared_codes_and_the_numerator_read_one_filter_alike(name, selection):
    incident = _ratio(selection)
    exact = exact_metric_codes(incident.condition_filter)
    words = None if exact is None else frozenset(code_words(exact))
    assert compared_codes(incident.condition_filter) == words
    assert numerator_codes(alert_context(incident)) == (None if exact is None or len(words) == 5 else words)


@pytest.mark.parametrize("name, selection, held", ROWS, ids=[r[0] for r in ROWS])
def test_a_hold_the_equalities_made_stays_unless_the_exact_reading_shows_2xx_counted(name, selection, held):
    why = alert_hold(_ratio(selection))
    assert (HELD_WORDS in why) is held, why
