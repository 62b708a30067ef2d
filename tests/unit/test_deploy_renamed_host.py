"""Failed name lookups right after a deploy on an unchanged path: a rollback only when the deploy
itself brought the name that fails (a host setting in the new revision's env the revision before
does not hold). A record deleted or a resolver down fails the name both revisions hold alike, and
env that cannot be compared keeps the deploy competing."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.env_hosts import deploy_brought, value_hosts
from shared.diagnosis.log_signals import lookup_host
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
GOOD, TYPO = "orders-db.db.internal.example", "orders-db.db.interal.example"
NODE = f"Error: getaddrinfo ENOTFOUND {TYPO}\n    at GetAddrInfoReqWrap.onlookup [as oncomplete] (node:dns:107:26)"
GO = f"dial tcp: lookup {TYPO} on 169.254.169.254:53: no such host"
JAVA = f"java.net.UnknownHostException: {TYPO}: Name or service not known"
BARE = "socket.gaierror: [Errno -2] Name or service not known"
# The database drivers' own words for the same unknown host (read as the database side's "no such host").
LIBPQ = f'psycopg2.OperationalError: could not translate host name "{TYPO}" to address: Name or service not known'
PGX = (f"failed to connect to `host={TYPO} user=app database=orders`: hostname resolving error (lookup {TYPO} on "
       "169.254.169.254:53: no such host)")
MYSQL = f"MySQLdb.OperationalError: (2005, \"Unknown MySQL server host '{TYPO}' (-2)\")"
PASSWORD = "s3cr3t-Pa55w0rd"


def deployed(old_env: tuple[str, ...], new_env: tuple[str, ...], text: str = NODE) -> Evidence:
    """NEW replaced OLD 6 minutes ago on the same connector and egress, every request needing a new
    connection fails on a name lookup; the connector is quiet."""
    return (Evidence().revision(OLD, -300, sql=(SQL,), env=old_env).revision(NEW, -6, sql=(SQL,), env=new_env)
            .traffic(**{NEW: 100}).requests(OLD, -90, -6, 40).latency(OLD, -90, -6, 0.2)
            .requests(NEW, -6, 5, 14).requests(NEW, -6, 5, 20, code="500").latency(NEW, -6, 5, 0.5)
            .connector(max_instances=3).connector_metric("instances", -40, 5, 2).connector_metric("cpu", -40, 5, 0.3)
            .connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1).log(-5, text, NEW, count=20))


ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")
ESCALATE = (Signature.INCONCLUSIVE, None)
CASES = {
    "DB_HOST typo in the new revision (Node)": ((GOOD, "orders"), (TYPO, "orders"), NODE, ROLLBACK),
    "DB_HOST typo, Go's lookup": ((GOOD,), (TYPO,), GO, ROLLBACK),
    "DATABASE_URL's host mistyped (Java)": ((f"postgresql://app:{PASSWORD}@{GOOD}:5432/orders",),
                                            (f"postgresql://app:{PASSWORD}@{TYPO}:5432/orders",), JAVA, ROLLBACK),
    "JDBC URL's host mistyped": ((f"jdbc:postgresql://{GOOD}:5432/orders",),
                                 (f"jdbc:postgresql://{TYPO}:5432/orders",), NODE, ROLLBACK),
    "libpq keyword DSN's host mistyped": ((f"host={GOOD} port=5432 dbname=orders",),
                                          (f"host={TYPO} port=5432 dbname=orders",), NODE, ROLLBACK),
    "a record deleted: both revisions name the host": ((TYPO,), (TYPO,), NODE, ESCALATE),
    "the host in neither revision's env (from a file, a secret)": ((GOOD,), (GOOD,), NODE, ESCALATE),
    "the revision before's env from secrets only (no plain value read)": ((), (TYPO,), NODE, ESCALATE),
    "the new revision's env not read": ((GOOD,), (), NODE, ESCALATE),
    "the lookups name no host": ((GOOD,), (TYPO,), BARE, ESCALATE),
    "the host only a part of a longer name in the revision before": ((f"replica.{TYPO}",), (TYPO,), NODE, ROLLBACK),
    "DB_HOST typo, libpq's own words (psycopg2)": ((GOOD,), (TYPO,), LIBPQ, ROLLBACK),
    "DB_HOST typo, pgx's own words": ((GOOD,), (TYPO,), PGX, ROLLBACK),
    "DB_HOST typo, MySQL's 2005": ((GOOD,), (TYPO,), MYSQL, ROLLBACK),
    "DSN's host mistyped, libpq's own words": ((f"postgresql://app:{PASSWORD}@{GOOD}:5432/orders",),
                                               (f"postgresql://app:{PASSWORD}@{TYPO}:5432/orders",), LIBPQ, ROLLBACK),
    "a record deleted, libpq's own words: both revisions name the host": ((TYPO,), (TYPO,), LIBPQ, ESCALATE),
    "a record deleted, pgx's own words": ((TYPO,), (TYPO,), PGX, ESCALATE),
    "a record deleted, MySQL's 2005": ((TYPO,), (TYPO,), MYSQL, ESCALATE),
    "libpq's own words, the revision before's env from secrets only": ((), (TYPO,), LIBPQ, ESCALATE),
    "MySQL's 2005, the new revision's env not read": ((GOOD,), (), MYSQL, ESCALATE),
    "MySQL's 2005, the host in neither revision's env": ((GOOD,), (GOOD,), MYSQL, ESCALATE),
}


@pytest.mark.parametrize("old_env, new_env, text, expected", CASES.values(), ids=CASES.keys())
def test_a_name_the_deploy_brought_is_rolled_back(old_env, new_env, text, expected):
    bundle = deployed(old_env, new_env, text).bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary


@pytest.mark.parametrize("text", [JAVA, LIBPQ, MYSQL])
def test_the_evidence_names_the_host_never_an_env_value(text):
    bundle = deployed((f"postgresql://app:{PASSWORD}@{GOOD}:5432/orders",),
                      (f"postgresql://app:{PASSWORD}@{TYPO}:5432/orders",), text).bundle()
    result = diagnose(bundle, S)
    said = result.model_dump_json()
    assert f"env names host {TYPO}" in said
    assert PASSWORD not in said and f"{GOOD}:5432" not in said
    assert PASSWORD not in repr(bundle) and PASSWORD not in bundle.model_dump_json()


LINES = {
    NODE: TYPO, GO: TYPO, JAVA: TYPO, BARE: "",
    "getaddrinfo EAI_AGAIN Orders-DB.example.": "orders-db.example",
    'psycopg2.OperationalError: could not translate host name "db.example" to address: Temporary failure in name '
    "resolution": "db.example",
    "Cannot connect to host api.example:443 ssl:default [Temporary failure in name resolution]": "api.example",
    "DNS resolution failed for pubsub.googleapis.com:443: C-ares status is not ARES_SUCCESS": "pubsub.googleapis.com",
    LIBPQ: TYPO, PGX: TYPO, MYSQL: TYPO,
    "ERROR 2005 (HY000): Unknown MySQL server host 'Orders-DB.example' (-3)": "orders-db.example",
}


@pytest.mark.parametrize("text, host", LINES.items())
def test_the_host_a_failed_lookup_names(text, host):
    assert lookup_host(text) == host


VALUES = {
    "db.example": {"db.example"},
    "DB.Example.:5432": {"db.example"},
    "mysql://u:p@db.example:3306/app": {"db.example"},
    "postgresql://u@h1.example:5432,h2.example/app": {"h1.example", "h2.example"},
    "app:pw@tcp(db.example:3306)/orders?parseTime=true": {"db.example"},
    "host=db.example port=5432": {"db.example"},
}


@pytest.mark.parametrize("value, hosts", VALUES.items())
def test_the_hosts_an_env_value_names(value, hosts):
    assert hosts <= value_hosts(value)


@pytest.mark.parametrize("hosts, new, before, brought", [
    ({"a.example"}, ("a.example",), ("b.example",), True),
    ({"a.example", "b.example"}, ("a.example", "b.example"), ("b.example",), False),   # one name both hold
    ({"a.example", ""}, ("a.example",), ("b.example",), False),                       # a line naming none
    (set(), ("a.example",), ("b.example",), False),
    ({"a.example"}, ("a.example",), (), False),
])
def test_deploy_brought(hosts, new, before, brought):
    assert deploy_brought(hosts, new, before) is brought
