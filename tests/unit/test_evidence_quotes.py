"""A rule's evidence quotes a long log line cut between words, as a summary does (excerpts.excerpt): the
`observed` text of each evidence item, and each doubt a summary carries, quoted the line as `text[:160]`
(or [:120]), cutting a word in two ("operat" for "operation"), which reads as another word. Each row is a
database error line over 160 characters whose 160th character falls inside a word, logged by a failing
service; every quote of it, in the evidence and the summary, must end between words, marked "..."."""
from __future__ import annotations

import re

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose

from tests.unit.builders import Evidence
from tests.unit.test_database_path_wording import OLD, failing

S = DiagnosisSettings()

# Each line is a real driver's words (the rows of log_signals cite them), padded with the caller's own
# context as applications log it, so that 160 and 120 characters fall inside a word.
LINES = {
    "libpq's read that timed out": (
        "psycopg2.OperationalError: could not receive data from server: Connection timed out while executing "
        "statement orders_by_customer_lookup_v2 on connection pool orders-primary-readwrite-pool"),
    "pgx's dial that timed out": (
        "failed to connect to `host=10.40.0.5 user=orders database=orders`: dial error (dial tcp 10.40.0.5:5432: "
        "i/o timeout) while refreshing connection pool orders-primary-readwrite-pool"),
    "a password refused": (
        'psycopg2.OperationalError: connection to server at "10.40.0.5", port 5432 failed: FATAL:  password '
        'authentication failed for user "orders" while opening connection pool orders-primary-readwrite'),
}

_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def _quotes_of(text: str, line: str) -> list[str]:
    """The quoted parts of `text` that quote the start of `line` (a repr's single-quoted string)."""
    return [q for q in _QUOTED.findall(text) if len(q) >= 40 and line.startswith(q.removesuffix("...")[:40])]


@pytest.mark.parametrize("line", LINES.values(), ids=LINES.keys())
def test_every_quote_of_a_long_line_ends_between_words(line):
    assert len(line) > 160 and line[159].isalnum() and line[160].isalnum()
    result = diagnose(failing(Evidence()).log(-6, line, OLD, count=30).bundle(), S)
    texts = [item.observed for item in result.evidence] + [result.summary]
    quotes = [q for text in texts for q in _quotes_of(text, line)]
    assert quotes, [item.observed for item in result.evidence]
    for quote in quotes:
        body = quote.removesuffix("...")
        assert line.startswith(body), quote
        cut = len(body) < len(line)
        assert not cut or (quote.endswith("...") and line[len(body)].isspace()), quote
