"""Failed name lookups right after a deploy on an unchanged path: a rollback only when the deploy
itself brought the name that fails (a host setting in the new revision's env the revision before
does not hold). A record deleted or a resolver down fails the name both revisions hold alike, and
env that cannot be compared keeps the deploy competing."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.env_hosts import (database_hosts, deploy_brought, deploy_swapped_one_name, hosts_with_ports,
                                        looked_up_names, mentions_name, value_hosts)
from shared.diagnosis.log_signals import lookup_host, says_no_such_name
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
# Failed lookups that name no host: glibc's EAI_NONAME as Python's socket.gaierror prints it at the end
# of a traceback (asyncpg, aiohttp, urllib3), Node's with no host, and PyMySQL's 2003 around the bare
# gaierror (its own host in quotes, read by no lookup_host pattern), as SQLAlchemy passes it on.
TRACEBACK = ('Traceback (most recent call last):\n  File "/usr/local/lib/python3.11/socket.py", line 962, in '
             "getaddrinfo\n    for res in _socket.getaddrinfo(host, port, family, type, proto, flags):\n" + BARE)
NODE_BARE = "Error: getaddrinfo ENOTFOUND\n    at GetAddrInfoReqWrap.onlookup [as oncomplete] (node:dns:107:26)"
PYMYSQL = ("sqlalchemy.exc.OperationalError: (pymysql.err.OperationalError) (2003, \"Can't connect to MySQL server "
           f"on '{TYPO}' ([Errno -2] Name or service not known)\")")
JAVA_FRAMES = (f"java.net.UnknownHostException: {TYPO}: Name or service not known\n\tat java.base/java.net.Inet6AddressImpl."
               "lookupAllHostAddr(Native Method)\n\tat java.base/java.net.InetAddress.getAllByName0(InetAddress.java:1534)")
AGAIN = "socket.gaierror: [Errno -3] Temporary failure in name resolution"
CACHE = "cache.internal.example"
REDIS = f"redis.exceptions.ConnectionError: Error -2 connecting to {CACHE}:6379. Name or service not known."


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
    "the lookups name no host: the one name the deploy swapped": ((GOOD,), (TYPO,), BARE, ROLLBACK),
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
    # Lookups that name no host: tied to the deploy only when it swapped exactly one name to look up.
    "bare gaierror, DB_HOST retyped beside plain words": ((GOOD, "orders", "debug"), (TYPO, "orders", "debug"),
                                                          TRACEBACK, ROLLBACK),
    "bare gaierror, DATABASE_URL's host retyped": ((f"postgresql://app:{PASSWORD}@{GOOD}:5432/orders",),
                                                   (f"postgresql://app:{PASSWORD}@{TYPO}:5432/orders",), BARE,
                                                   ROLLBACK),
    "Node's ENOTFOUND naming no host, DB_HOST retyped": ((GOOD, "production"), (TYPO, "production"), NODE_BARE,
                                                         ROLLBACK),
    "PyMySQL's 2003 around a bare gaierror, DB_HOST retyped": ((GOOD,), (TYPO,), PYMYSQL, ROLLBACK),
    "bare gaierror, an image-only deploy (a record deleted)": ((GOOD, "orders"), (GOOD, "orders"), BARE, ESCALATE),
    "bare gaierror, a feature flag changed": ((GOOD, "false"), (GOOD, "true"), BARE, ESCALATE),
    "bare gaierror, DB_NAME changed (a plain word)": ((GOOD, "orders"), (GOOD, "orders_v2"), BARE, ESCALATE),
    "bare gaierror, REGION changed (a plain word)": ((GOOD, "europe-west1"), (GOOD, "europe-west4"), BARE, ESCALATE),
    "bare gaierror, a version changed": ((GOOD, "1.4.2"), (GOOD, "1.4.3"), BARE, ESCALATE),
    "bare gaierror, a config file renamed": ((GOOD, "logging.yaml"), (GOOD, "logging-v2.yaml"), BARE, ESCALATE),
    "bare gaierror, an IP address changed (never looked up)": ((GOOD, "10.0.0.5"), (GOOD, "10.0.0.6"), BARE,
                                                               ESCALATE),
    "bare gaierror, a connection name changed (not DNS)": ((GOOD, "p:europe-west1:orders"),
                                                           (GOOD, "p:europe-west1:ordres"), BARE, ESCALATE),
    "bare gaierror, a single-label DB_HOST changed (a plain word)": (("db",), ("dbx",), BARE, ESCALATE),
    "bare gaierror, two host names changed": ((GOOD, CACHE), (TYPO, "cache2.internal.example"), BARE, ESCALATE),
    "bare gaierror, a host name added, none replaced": ((GOOD,), (GOOD, CACHE), BARE, ESCALATE),
    "bare gaierror, the revision before's env not read": ((), (TYPO,), BARE, ESCALATE),
    "bare EAI_AGAIN (the resolver did not answer), DB_HOST retyped": ((GOOD,), (TYPO,), AGAIN, ESCALATE),
    "redis-py's lookup of a name both hold, DB_HOST retyped": ((GOOD, CACHE), (TYPO, CACHE), REDIS, ESCALATE),
    "redis-py's lookup of a name from a secret, DB_HOST retyped": ((GOOD,), (TYPO,), REDIS, ESCALATE),
    # A plain word is a host when a lookup names exactly it.
    "Node names the single-label host the deploy retyped": (("db",), ("dbx",), "Error: getaddrinfo ENOTFOUND dbx",
                                                            ROLLBACK),
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


def test_a_swapped_name_is_never_shown():
    bundle = deployed((f"postgresql://app:{PASSWORD}@{GOOD}:5432/orders",),
                      (f"postgresql://app:{PASSWORD}@{TYPO}:5432/orders",), TRACEBACK).bundle()
    result = diagnose(bundle, S)
    said = result.model_dump_json()
    assert result.signature == Signature.BAD_REVISION and "name no host" in said
    assert PASSWORD not in said and TYPO not in said and GOOD not in said


LINES = {
    NODE: TYPO, GO: TYPO, JAVA: TYPO, BARE: "",
    "getaddrinfo EAI_AGAIN Orders-DB.example.": "orders-db.example",
    'psycopg2.OperationalError: could not translate host name "db.example" to address: Temporary failure in name '
    "resolution": "db.example",
    "Cannot connect to host api.example:443 ssl:default [Temporary failure in name resolution]": "api.example",
    "DNS resolution failed for pubsub.googleapis.com:443: C-ares status is not ARES_SUCCESS": "pubsub.googleapis.com",
    LIBPQ: TYPO, PGX: TYPO, MYSQL: TYPO,
    "ERROR 2005 (HY000): Unknown MySQL server host 'Orders-DB.example' (-3)": "orders-db.example",
    PYMYSQL: TYPO, TRACEBACK: "", NODE_BARE: "", AGAIN: "",
    "(2003, \"Can't connect to MySQL server on 'db.example' (Name or service not known)\")": "db.example",
    "pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on '10.0.0.5' (timed out)\")": "",
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


# The database's settings place a dial whose words name no address (SqlClient's): ADO.NET's "Server=H,PORT"
# (and "tcp:H,PORT") names one host, its port after the comma; libpq's "host=h1,h2" lists two.
DATABASE_SETTINGS = {
    "Server=10.20.0.5,1433;Database=orders;User Id=app": {"10.20.0.5"},
    "Server=tcp:10.20.0.5,1433;Database=orders": {"10.20.0.5"},
    "Data Source=10.20.0.5, 1433;Initial Catalog=orders": {"10.20.0.5"},
    "Server=10.20.0.5;Database=orders": {"10.20.0.5"},
    "host=10.20.0.5,10.20.0.6 port=5432 dbname=orders": {"10.20.0.5", "10.20.0.6"},
    "Server=sql.internal.example,1433;Database=orders": None,
}


@pytest.mark.parametrize("value, hosts", DATABASE_SETTINGS.items())
def test_the_hosts_a_database_setting_places(value, hosts):
    assert database_hosts((value,)) == hosts


@pytest.mark.parametrize("hosts, new, before, brought", [
    ({"a.example"}, ("a.example",), ("b.example",), True),
    ({"a.example", "b.example"}, ("a.example", "b.example"), ("b.example",), False),   # one name both hold
    ({"a.example", ""}, ("a.example",), ("b.example",), False),                       # a line naming none
    (set(), ("a.example",), ("b.example",), False),
    ({"a.example"}, ("a.example",), (), False),
])
def test_deploy_brought(hosts, new, before, brought):
    assert deploy_brought(hosts, new, before) is brought


# What a value gives a resolver to look up, read from its shape: a dotted name, a URL's or DSN's
# host; never a plain word, an address, a socket path, a connection name, a version or a file name.
NAMES = {
    "db.example": {"db.example"}, "DB.Example.:5432": {"db.example"},
    "postgresql://u:p@db:5432/app": {"db"},                       # a single label, a host by its place
    "jdbc:mysql://h1.example:3306,h2.example/app": {"h1.example", "h2.example"},
    "host=db.example port=5432": {"db.example"}, "u:p@tcp(db.example:3306)/app": {"db.example"},
    "https://key@o1.ingest.sentry.io/42": {"o1.ingest.sentry.io"},
    "orders": set(), "debug": set(), "europe-west1": set(), "true": set(), "db": set(),
    "10.20.0.3": set(), "10.20.0.3:5432": set(), "postgresql://u@[2001:db8::1]:5432/app": set(),
    "proj:europe-west1:orders": set(), "example.com:proj:europe-west1:orders": set(),
    "/cloudsql/proj:europe-west1:orders": set(), "host=/cloudsql/proj:europe-west1:orders dbname=app": set(),
    "postgresql://u:p@/app?host=/cloudsql/proj:europe-west1:orders": set(),
    "1.4.2": set(), "v2.0.1": set(), "logging.yaml": set(), "app.properties": set(), "a b.example": set(),
}


@pytest.mark.parametrize("value, names", NAMES.items())
def test_the_names_a_value_gives_a_resolver(value, names):
    assert looked_up_names(value) == names


@pytest.mark.parametrize("new, before, swapped", [
    ((TYPO, "orders"), (GOOD, "orders"), TYPO),
    ((f"postgresql://u:p@{TYPO}/app",), (f"postgresql://u:p@{GOOD}/app",), TYPO),
    ((GOOD, "true"), (GOOD, "false"), ""),                            # a feature flag
    ((GOOD,), (GOOD,), ""),                                           # image only
    ((TYPO, "cache2.example"), (GOOD, "cache.example"), ""),          # two names swapped
    ((GOOD, "cache.example"), (GOOD,), ""),                           # one added, none dropped
    ((TYPO,), (GOOD, "cache.example"), ""),                           # one swapped, one dropped
    ((TYPO,), (), ""), ((), (GOOD,), ""),                             # env not read
])
def test_deploy_swapped_one_name(new, before, swapped):
    assert deploy_swapped_one_name(new, before) == swapped


@pytest.mark.parametrize("text, says", [
    (BARE, True), (NODE_BARE, True), ("getaddrinfo EAI_NONAME", True), (PYMYSQL, True),
    (AGAIN, False), ("Error: getaddrinfo EAI_AGAIN", False),
    ("lookup db.example on 169.254.169.254:53: server misbehaving", False),
])
def test_says_no_such_name(text, says):
    assert says_no_such_name(text) is says


@pytest.mark.parametrize("text, mentions", [
    (REDIS, True), (f"could not reach {CACHE}.", True), (BARE, False),
    (f"x {CACHE}.org y", False), (f"x sub-{CACHE} y", False), (f"x sub.{CACHE} y", False),
])
def test_mentions_name(text, mentions):
    assert mentions_name(text, (CACHE, "orders")) is mentions


@pytest.mark.parametrize("text, hosts", [
    (REDIS, {CACHE}), ("Cannot connect to host API.Example.:443 ssl:default", {"api.example"}),
    (JAVA_FRAMES, set()), (NODE_BARE, set()), (TRACEBACK, set()), ("dial tcp 10.0.0.5:5432: i/o timeout", set()),
    ("listening on 0.0.0.0:8080", set()), ("at main.go:42", set()),
])
def test_hosts_with_ports(text, hosts):
    assert hosts_with_ports(text) == hosts


def test_the_minute_the_traffic_moved_is_no_revision_resolving_beside_the_new_one():
    """The old revision served 40 clean requests in the minute the traffic moved, three minutes before the new
    one's first failed lookup of a name both revisions use: nothing of the minutes the lookups failed in, so no
    sign the resolver answered it then (Facts.since_first_of). Before, that minute made the lookups the deploy's,
    and it was rolled back; the answer is now the one without that minute."""
    env = (f"DB_HOST={GOOD}",)
    answers = []
    for moved in (False, True):
        e = (Evidence().revision(OLD, -300, sql=(SQL,), env=env).revision(NEW, -6, sql=(SQL,), env=env)
             .traffic(**{NEW: 100}).requests(OLD, -90, -6, 40).latency(OLD, -90, -6, 0.2)
             .requests(NEW, -6, 5, 14).requests(NEW, -3, 5, 20, code="500").latency(NEW, -6, 5, 0.5)
             .connector(max_instances=3).connector_metric("instances", -40, 5, 2).connector_metric("cpu", -40, 5, 0.3)
             .connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1).log(-3, AGAIN, NEW, count=20))
        if moved:
            e.requests(OLD, -6, -5, 40).latency(OLD, -6, -5, 0.2)
        result = diagnose(e.bundle(), S)
        answers.append((result.signature, plan(result, e.bundle(), S).action))
    assert answers[1] == answers[0] and answers[1][1] is None, answers
