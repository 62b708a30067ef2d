"""A log-match policy whose filter lets through only entries below WARNING and names no failure (`severity=INFO AND
jsonPayload.event="cache_warmed"`) counts the service's ordinary work, not a failure: diagnosed and held, never written
for (present_failure.alert_hold; code_filters.quiet_only). Pure: the documented bad_revision OPEN (backend-00002-xyz
failing 60 % since its deploy) as a log-match policy's, read by parse_notification.

An INFO filter that names a failure (its words, an `httpRequest.status` that may be a 5xx) is a failure the
application logged at a low level: it takes the usual path, the live evidence deciding, as before.

Sources: LogSeverity (google/logging/type/log_severity.proto: DEFAULT 0, DEBUG 100, INFO 200, NOTICE 300, WARNING 400,
ERROR 500); "Logging query language" (severity compared by name or number; NOT, OR, AND)."""
from __future__ import annotations

import pytest

from shared.alerts.code_filters import quiet_only
from shared.alerts.present_failure import alert_hold
from tests.unit.test_audit_log_match import RUN, _log_match

# Held: every entry the filter lets through is below WARNING, and it names no failure. Unheld, each rolled back
# backend-00002-xyz on the live evidence, as a failure's alert does. (name, filter, the levels said, the terms said)
HELD = [
    ("an INFO event", f'{RUN} AND severity=INFO AND jsonPayload.event="cache_warmed"', "INFO", "severity=INFO"),
    ("DEBUG up to NOTICE", f"{RUN} AND severity>=DEBUG AND severity<=NOTICE", "DEBUG, INFO, NOTICE",
     "severity>=DEBUG', 'severity<=NOTICE"),
    ("DEBUG", f"{RUN} AND severity=DEBUG", "DEBUG", "severity=DEBUG"),
    ("below WARNING, quoted", f'{RUN} AND severity<"WARNING" AND severity>"DEFAULT"', "DEBUG, INFO, NOTICE",
     'severity<"WARNING"\', \'severity>"DEFAULT"'),
    ("by number", f"{RUN} AND severity=200", "INFO", "severity=200"),
    ("by NOT", f'{RUN} AND NOT severity>=WARNING AND NOT severity=DEFAULT AND textPayload:"started"',
     "DEBUG, INFO, NOTICE", "NOT severity>=WARNING', 'NOT severity=DEFAULT"),
    ("INFO or DEBUG", f'{RUN} AND (severity=INFO OR severity=DEBUG) AND jsonPayload.msg:"warmed"', "DEBUG, INFO",
     "severity=INFO', 'severity=DEBUG"),
    ("spaced, lower case", f'{RUN} AND severity = info AND jsonPayload.job="nightly"', "INFO", "severity = info"),
    # A negated group of severity comparisons excludes levels as a negated comparison does (before, the group's
    # parenthesis was read as a negated group of anything: the usual path, a rollback).
    ("NOT a group of DEFAULT or WARNING and above",
     f'{RUN} AND NOT (severity=DEFAULT OR severity>=WARNING) AND jsonPayload.event="flag_flipped"',
     "DEBUG, INFO, NOTICE", "NOT (severity=DEFAULT OR severity>=WARNING)"),
    ("up to NOTICE, NOT a group of DEFAULT", f'{RUN} AND severity<=NOTICE AND NOT (severity=DEFAULT) AND '
     'jsonPayload.event="flag_flipped"', "DEBUG, INFO, NOTICE", "severity<=NOTICE', 'NOT (severity=DEFAULT)"),
    ("up to NOTICE, NOT a group of DEFAULT or DEBUG", f'{RUN} AND severity<=NOTICE AND NOT (severity=DEFAULT OR '
     'severity=DEBUG) AND jsonPayload.event="flag_flipped"', "INFO, NOTICE",
     "severity<=NOTICE', 'NOT (severity=DEFAULT OR severity=DEBUG)"),
    ("NOT a group of groups", f'{RUN} AND NOT ((severity=DEFAULT) OR (severity>=WARNING)) AND textPayload:"started"',
     "DEBUG, INFO, NOTICE", "NOT ((severity=DEFAULT) OR (severity>=WARNING))"),
    ("-(...), a group of levels", f'{RUN} AND -(severity=DEFAULT OR severity>=WARNING) AND jsonPayload.job="nightly"',
     "DEBUG, INFO, NOTICE", "-(severity=DEFAULT OR severity>=WARNING)"),
]

# The usual path: a failure named, or entries of WARNING or above let through, or no severity bound.
NOT_HELD = [
    ("up to NOTICE: DEFAULT, a plain stdout or stderr line, with it", f"{RUN} AND severity<=NOTICE"),
    ("below WARNING: DEFAULT with it", f'{RUN} AND severity<"WARNING"'),
    ("NOT WARNING or above: DEFAULT with it", f'{RUN} AND NOT severity>=WARNING AND textPayload:"started"'),
    ("INFO naming a refusal", f'{RUN} AND severity=INFO AND textPayload:"connection refused"'),
    ("INFO with a 5xx status", f"{RUN} AND severity=INFO AND httpRequest.status>=500"),
    ("INFO with a 503 in its payload", f"{RUN} AND severity=INFO AND jsonPayload.status=503"),
    ("INFO naming an error field", f"{RUN} AND severity=INFO AND jsonPayload.error:*"),
    ("INFO naming a timeout", f'{RUN} AND severity<=NOTICE AND jsonPayload.message:"upstreamTimeout"'),
    ("INFO or ERROR", f'{RUN} AND (severity=INFO OR severity>=ERROR) AND jsonPayload.event="cache_warmed"'),
    ("WARNING", f"{RUN} AND severity=WARNING"),
    ("not DEBUG", f"{RUN} AND severity!=DEBUG"),
    ("no severity at all", f'{RUN} AND jsonPayload.event="cache_warmed"'),
    ("a severity by a regular expression", f'{RUN} AND severity=~"INFO"'),
    ("a payload's own severity field", f'{RUN} AND jsonPayload.severity="INFO"'),
    ("INFO, the failure's words negated", f'{RUN} AND severity=INFO AND NOT textPayload:"error"'),
    # A negated group holding anything but severity comparisons lets through every other entry at those levels,
    # failures logged at them among them.
    ("NOTICE, NOT a group of ordinary events",
     f'{RUN} AND severity=NOTICE AND NOT (jsonPayload.event="startup" OR jsonPayload.event="shutdown")'),
    ("NOT a group of levels and a text", f'{RUN} AND NOT (severity=DEFAULT OR severity>=WARNING OR textPayload:"ok") '
     'AND jsonPayload.event="a"'),
    ("NOT a group of levels and a text, AND inside",
     f'{RUN} AND NOT (severity=DEFAULT OR severity>=WARNING AND textPayload:"deadlock") AND jsonPayload.event="a"'),
    ("NOT a group of levels, a failure named beside it",
     f'{RUN} AND NOT (severity=DEFAULT OR severity>=WARNING) AND textPayload:"deadlock detected"'),
    ("NOT a group of WARNING and above: DEFAULT with it", f'{RUN} AND NOT (severity>=WARNING) AND jsonPayload.event="a"'),
    ("NOT a group of quiet levels", f'{RUN} AND NOT (severity<=NOTICE) AND jsonPayload.event="a"'),
    ("a group of levels left open", f'{RUN} AND NOT (severity=DEFAULT OR severity>=WARNING AND jsonPayload.event="a"'),
]


@pytest.mark.parametrize("name, log_filter, levels, terms", HELD, ids=[c[0] for c in HELD])
def test_a_log_match_on_quiet_entries_naming_no_failure_is_held(name, log_filter, levels, terms):
    incident = _log_match(log_filter)
    assert incident.condition_kind == "log_match"
    why = alert_hold(incident)
    assert "policy 'backend changes' matched log entries below WARNING" in why, why
    assert f"lets through only {levels} entries, by '{terms}'" in why, why
    assert "names no failure" in why and "nothing was written" in why and "the change below" in why, why


@pytest.mark.parametrize("name, log_filter", NOT_HELD, ids=[c[0] for c in NOT_HELD])
def test_a_log_match_that_names_a_failure_or_lets_warnings_through_takes_the_usual_path(name, log_filter):
    assert quiet_only(log_filter) == ()
    assert alert_hold(_log_match(log_filter)) == "", alert_hold(_log_match(log_filter))


def test_a_metric_condition_is_not_read_as_a_log_match():
    """The hold reads a log match's filter only: a threshold's filter is a Monitoring filter of series."""
    import copy

    from shared.alerts.incidents import parse_notification
    from tests.property.fast import scenario_model
    from tests.property.harness import ANCHOR

    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    document["incident"]["condition"]["conditionThreshold"]["filter"] += ' AND metadata.user_labels.severity="INFO"'
    assert "below WARNING" not in alert_hold(parse_notification(document))
