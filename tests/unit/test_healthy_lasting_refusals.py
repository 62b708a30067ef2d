"""Clean minutes after the database refused new connections in words that do not end by themselves are never
`healthy`.

A pool keeps its connections; only a new instance meets a refused password (a secret version added under
`latest`), a rotated server CA, an address or account not admitted. Its failures come with a burst of new instances
and stop with it, and the minutes after are clean because no instance started: the alert path called that
`healthy` and skipped it, though the next instance fails alike. Now it is escalated (inconclusive, nothing planned)
naming the refusal and the revision that still serves (shared/diagnosis/lasting_refusals.py). A restart's or a
limit's refusals, which end on their own, stay `healthy`. Pure: evidence built in memory (tests/unit/builders.py),
no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import SecretRef
from shared.diagnosis.signatures import Signature
from tests.unit.builders import Evidence, healthy_or_held
from tests.unit.test_healthy_fast_refusals import LATENCY, RATIO
from tests.unit.test_verification_judging import NEW, OLD

S = DiagnosisSettings()

PASSWORD = 'asyncpg.exceptions.InvalidPasswordError: password authentication failed for user "ledger"'
CERTIFICATE = ("failed to connect to `user=ledger database=ledger`: 10.30.0.5:5432 (10.30.0.5): tls error: tls: "
               "failed to verify certificate: x509: certificate signed by unknown authority")
HBA = ('psycopg2.OperationalError: connection to server at "10.30.0.5", port 5432 failed: FATAL:  no pg_hba.conf '
       'entry for host "10.8.0.3", user "ledger", database "ledger", SSL encryption')
MYSQL_DENIED = ("pymysql.err.OperationalError: (1045, \"Access denied for user 'ledger'@'10.8.0.3' "
                "(using password: YES)\")")
TOO_MANY = "asyncpg.exceptions.TooManyConnectionsError: sorry, too many clients already"
# PostgreSQL's own FATALs of a role or a database it does not hold, or a role it does not let log in
# (src/backend/utils/init/miscinit.c, postinit.c): read as Refusal.SERVER_FATAL, lasting as MySQL's unknown database.
NO_LOGIN = ('psycopg2.OperationalError: connection to server at "10.30.0.5", port 5432 failed: FATAL:  role "ledger" '
            'is not permitted to log in')
NO_ROLE = 'pq: role "ledger" does not exist'
NO_DATABASE = 'pq: database "ledger" does not exist'
OUT_OF_MEMORY = ('psycopg2.OperationalError: connection to server at "10.30.0.5", port 5432 failed: FATAL:  out of '
                 'memory')
# go-sql-driver/mysql's logger line before its retry with the default plugin (connector.go, Connect), which may
# connect; and the error Connect returns when the retry fails too (errors.go, ErrUnknownPlugin).
GO_PLUGIN_FALLBACK = ("[mysql] 2026/12/07 11:49:02 connector.go:95: could not use requested auth plugin "
                      "'authentication_ldap_sasl_client': this authentication plugin is not supported")
GO_PLUGIN_REFUSED = "2026/12/07 11:49:02 mysql ping: this authentication plugin is not supported"
# The same returned error as the Go tutorial logs it (`log.Fatal(pingErr)`): log's date, then the error alone.
GO_PLUGIN_BARE = "2026/12/07 11:49:02 this authentication plugin is not supported"
RESTART = ("sqlalchemy.exc.OperationalError: (psycopg2.errors.AdminShutdown) terminating connection due to "
           "administrator command")


def _burst(*texts: str, logged_by: str = OLD, serving: str = OLD, now: float = 6) -> Evidence:
    """backend's revision `serving` at 60 requests a minute for two hours, the database up; from -5 to 0 a burst
    of new instances answers 20 500s a minute, each minute 3 lines of each of `texts` (in their order) logged by `logged_by`; clean since,
    read at `now`."""
    e = Evidence(now=now)
    e.revision(OLD, -6000, secrets=(SecretRef(env="DB_PASSWORD", secret="ledger-db-password", version="latest"),
                                    SecretRef(env="DB_USER", secret="ledger-db-user", version="3")))
    if NEW in (logged_by, serving):
        e.revision(NEW, -3000)
    e.traffic(**{serving: 100}).instances(serving, -120, now, 4)
    e.requests(serving, -120, now, 60).latency(serving, -120, now, 0.08)
    e.requests(serving, -5, 0, 20, code="500")
    e.sql_up(-120, now, 1)
    for minute in range(-5, 0):
        for n, text in enumerate(texts):
            e.log(minute + 0.5 + n / 10, text, logged_by, count=3)
    return e


ROWS = [
    # name, evidence, alert, healthy (the held rows `healthy` on main)
    ("a password refused to the burst's new instances, clean since: held", _burst(PASSWORD), RATIO, False),
    ("the same under a latency alert: held", _burst(PASSWORD), LATENCY, False),
    ("a server certificate not trusted (a rotated CA): held", _burst(CERTIFICATE), RATIO, False),
    ("no pg_hba.conf entry for the source address: held", _burst(HBA), RATIO, False),
    ("MySQL's access denied: held", _burst(MYSQL_DENIED), RATIO, False),
    ("PostgreSQL: a role not permitted to log in: held", _burst(NO_LOGIN), RATIO, False),
    ("PostgreSQL: a role that does not exist: held", _burst(NO_ROLE), RATIO, False),
    ("PostgreSQL: a database that does not exist: held", _burst(NO_DATABASE), RATIO, False),
    ("go-sql-driver's error after its retry with the default plugin: held", _burst(GO_PLUGIN_REFUSED), RATIO, False),
    ("go-sql-driver's error logged bare after its logger line: held", _burst(GO_PLUGIN_FALLBACK, GO_PLUGIN_BARE),
     RATIO, False),
    # Controls: healthy on main and now.
    ("too many clients under the burst's load, gone with it: healthy", _burst(TOO_MANY), RATIO, True),
    ("a restart's sessions ended, the database back: healthy", _burst(RESTART), RATIO, True),
    ("go-sql-driver's logger line before its retry with the default plugin: healthy", _burst(GO_PLUGIN_FALLBACK),
     RATIO, True),
    ("a server FATAL of a state that passes (out of memory): healthy", _burst(OUT_OF_MEMORY), RATIO, True),
    ("a password refused to a revision that serves no more: the serving one's minutes, healthy",
     _burst(PASSWORD, logged_by=NEW, serving=OLD), RATIO, True),
]


@pytest.mark.parametrize("name,evidence,alert,healthy", ROWS, ids=[r[0] for r in ROWS])
def test_clean_minutes_after_a_lasting_refusal_are_never_healthy(name, evidence, alert, healthy):
    d = healthy_or_held(evidence, alert, S, healthy)
    if not healthy:
        assert f"refused new connections of {OLD}, which still serves" in d.summary, d.summary
        assert "not the cause fixed" in d.summary, d.summary


def test_a_refused_password_names_the_secret_it_is_read_from():
    """A refused password names the secret the serving revision reads it from, with its version: the one a person
    fixes (a version added under `latest`); a secret that holds no credential by its variable's name is left out."""
    d = healthy_or_held(_burst(PASSWORD), RATIO, S, False)
    assert "env DB_PASSWORD from ledger-db-password at latest" in d.summary, d.summary
    assert "ledger-db-user" not in d.summary, d.summary


def test_the_sweep_judges_its_own_action_on_the_minutes_since():
    """The verification sweep's diagnosis (`traffic_judged` False) is not held by refusals before its action."""
    d = diagnose(_burst(PASSWORD).bundle(), S, traffic_judged=False)
    assert d.signature is Signature.HEALTHY, d.summary
