"""docs/api-contracts.md states how long the application-log query is, measured: the query recorded in the golden
contract (tests/contracts/golden/logging_list_log_entries.json) and the same query at its longest, and the limit
it is held to (Logging's 20,000 characters, log_signals.MAX_FILTER_CHARS). A needle added to the query changes
the recorded file; this keeps the figures the page states equal to it. No I/O beyond reading the two files."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

from shared.diagnosis.log_signals import MAX_FILTER_CHARS, app_log_filter

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "contracts" / "golden" / "logging_list_log_entries.json"
DOC = ROOT / "docs" / "api-contracts.md"

# The longest ids the query can carry: a Cloud Run service id of 63 characters, a project id of 30 (their
# documented maxima), and the longest region name, northamerica-northeast1 (23).
LONGEST = ("p" * 30, "s" * 63, "northamerica-northeast1")


def _recorded() -> str:
    [query] = [r["request"]["filter"] for r in json.loads(GOLDEN.read_text())
               if r["request"]["filter"].startswith('resource.type="cloud_run_revision"')]
    return query


def _stated(label: str) -> int:
    found = re.search(rf"<!-- {label} -->([\d,]+)", DOC.read_text())
    assert found, f"docs/api-contracts.md states no figure marked <!-- {label} -->"
    return int(found.group(1).replace(",", ""))


def test_the_recorded_querys_length_is_the_one_the_page_states():
    assert _stated("recorded query length") == len(_recorded())


def test_the_longest_querys_length_is_the_one_the_page_states_and_under_the_limit():
    t = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)
    longest = len(app_log_filter(*LONGEST, t, t))
    assert _stated("longest query length") == longest
    assert _stated("filter length limit") == MAX_FILTER_CHARS and longest < MAX_FILTER_CHARS


def test_the_failure_lines_query_at_its_longest_is_under_the_limit():
    """The read of the application's failure lines alone carries the same needles (log_signals.
    failure_lines_filter): at its longest, under Logging's 20,000 characters."""
    from shared.diagnosis.log_signals import failure_lines_filter

    t = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)
    assert len(failure_lines_filter(*LONGEST, t, t)) < MAX_FILTER_CHARS
