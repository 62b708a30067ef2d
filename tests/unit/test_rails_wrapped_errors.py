"""Rails' PostgreSQL adapter replaces libpq's message with its own whenever that message holds the configured
database's name, then the user's, then the host's (activerecord postgresql_adapter.rb, new_client; errors.rb):
NoDatabaseError.db_error, DatabaseConnectionError.username_error, .hostname_error. The username error is said for
the server's refusals of the user the connection names (a password refused, a role missing) and for any message
holding the user's name (a host or a socket path named like it); the database error for any message holding the
database's name: each an error of reaching the database, cause unsaid, never a refusal (which would rule the
connector out); the username error alone holds a scale back as a doubt.
Pure table: text -> (signals, refusal, a dial that timed out), the names the refusal gives; then verdicts."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import LogSignal, classify, dial_timed_out, refusals_of
from shared.diagnosis.rules.database_unreachable import _names_said
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.test_connector_stale_reads import busy_connector

S = DiagnosisSettings()
DB = LogSignal.DB_CONNECTION
USERNAME = ("ActiveRecord::DatabaseConnectionError: There is an issue connecting to your database with your "
            "username/password, username: billing_app.")
USERNAME_LOGGED = ("ActiveRecord::DatabaseConnectionError (There is an issue connecting to your database with your "
                   "username/password, username: billing_app.\n\nPlease check your database configuration to ensure the "
                   "username/password are valid.\n):")
NO_DATABASE = ("ActiveRecord::NoDatabaseError: We could not find your database: orders. Available database "
               "configurations can be found in config/database.yml.")

ROWS = {
    USERNAME: (frozenset({DB}), "", False),
    USERNAME_LOGGED: (frozenset({DB}), "", False),
    NO_DATABASE: (frozenset({DB}), "", False),
    "ActiveRecord::NoDatabaseError (We could not find your database: orders. Available database configurations can "
    "be found in config/database.yml.\n\nTo resolve this error:\n\n- Did you create the database for this app, or "
    "delete it? You may need to create your database.\n):": (frozenset({DB}), "", False),
    # Control: the hostname error stays an error of reaching the database, cause unsaid.
    "ActiveRecord::DatabaseConnectionError: There is an issue connecting with your hostname: 10.60.0.9.":
        (frozenset({DB}), "", False),
}


@pytest.mark.parametrize("text, expected", ROWS.items(), ids=[t[:70] for t in ROWS])
def test_what_the_words_say(text, expected):
    assert (classify(text), refusals_of([text])[text], dial_timed_out(text)) == expected


def test_the_username_error_names_the_user():
    assert _names_said(USERNAME) == {("user", "billing_app")}
    assert _names_said(USERNAME_LOGGED) == {("user", "billing_app")}


# situation -> the verdict, the action, words in the summary
CASES = {
    # The same words for a password rotated on one side and for a dial that timed out to a host named like the user
    # ("orders-db.internal" for a user "orders") through the saturated connector: neither a refusal that rules the
    # connector out nor a failed dial that scales it; the doubt holds the scale back.
    "a password rotated or a dial to a host named like the user, busy shared connector: a doubt, not scaled": (
        busy_connector(USERNAME_LOGGED), None, None, "Rails said its username error"),
}


@pytest.mark.parametrize("evidence, signature, action, words", CASES.values(), ids=CASES.keys())
def test_rails_words_read_for_what_they_say(evidence, signature, action, words):
    bundle = evidence.bundle()
    result = diagnose(bundle, S)
    if signature is not None:
        assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    assert words in result.summary, result.summary


def test_the_database_error_reads_as_the_hostname_error_does():
    """Its cause unsaid, as the hostname error's: the same verdict and plan beside the same busy connector (not
    the database's refusal, which would rule the connector out)."""
    hostname = "ActiveRecord::DatabaseConnectionError: There is an issue connecting with your hostname: 10.60.0.9."
    found = []
    for text in (NO_DATABASE, hostname):
        bundle = busy_connector(text).bundle()
        result = diagnose(bundle, S)
        found.append((result.signature, plan(result, bundle, S).action))
    assert found[0] == found[1]
    assert "refuses" not in diagnose(busy_connector(NO_DATABASE).bundle(), S).summary
