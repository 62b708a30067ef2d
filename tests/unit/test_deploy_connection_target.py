"""A deploy's changed connection target read in more of the forms drivers and settings give it: Go's
bare "dial tcp H:P" at a host and port only the new revision's settings pair (DB_PORT moved to a
PgBouncer's 6432, REDIS_PORT moved); the user and database a refusal names beside the reason (pgx's
"`user=U database=D`", pg_hba.conf's 'user "U", database "D"', a role's connection limit), tied only
where the deploy moved that name; a port or host variable of another store (REDIS_DB_PORT,
MONGO_DB_PORT, CACHE_DB_HOST) never taken for the database's, whose a variable is read from its value
first (a URL's scheme, a server's default port: SESSION_DB_PORT=6432 is PgBouncer's); a refusal that names a
Cloud SQL socket and a host (libpq's several hosts tried in turn) held to both; and a pg_hba.conf refusal of a
database that sits in a pinned secret the deploy moved."""
from __future__ import annotations

import pytest

from shared.diagnosis import env_hosts
from shared.diagnosis.evidence import SecretRef
from shared.diagnosis.log_signals import database_engine

from tests.unit.test_deploy_moved_where_it_connects import ESCALATE, ROLLBACK
# The same judgement of one line after a deploy (diagnose, then plan), named so pytest does not collect it twice.
from tests.unit.test_deploy_moved_where_it_connects import \
    test_a_deploy_that_moved_where_it_connects_is_rolled_back as judged

HOST = (("DB_HOST", "10.10.0.3"), ("DB_NAME", "shop"), ("DB_USER", "app"))
AT_5432, AT_6432 = HOST + (("DB_PORT", "5432"),), HOST + (("DB_PORT", "6432"),)
REDIS_6379 = (("REDIS_HOST", "10.10.0.7"), ("REDIS_PORT", "6379"))
REDIS_6380 = (("REDIS_HOST", "10.10.0.7"), ("REDIS_PORT", "6380"))
URL_5432 = (("DATABASE_URL", "postgresql+psycopg://app:pw@10.10.0.3:5432/shop"),)
URL_6432 = (("DATABASE_URL", "postgresql+psycopg://app:pw@10.10.0.3:6432/shop"),)
DSN_5432 = (("PG_DSN", "host=10.10.0.3 port=5432 dbname=shop user=app"),)
DSN_6432 = (("PG_DSN", "host=10.10.0.3 port=6432 dbname=shop user=app"),)
REDIS_ADDR_6379, REDIS_ADDR_6380 = (("REDIS_ADDR", "10.10.0.7:6379"),), (("REDIS_ADDR", "10.10.0.7:6380"),)
NEW_USER = (("DB_HOST", "10.10.0.3"), ("DB_NAME", "shop"), ("DB_USER", "app_v2"))
NEW_NAME = (("DB_HOST", "10.10.0.3"), ("DB_NAME", "shop_v2"), ("DB_USER", "app"))

DIAL = "dial tcp {}: connect: connection refused"
DIAL_TIMEOUT = "dial tcp {}: i/o timeout"
LIBPQ_REFUSED = ('psycopg2.OperationalError: connection to server at "10.10.0.3", port {} failed: Connection refused\n'
                 "\tIs the server running on that host and accepting TCP/IP connections?")
PGX5 = "failed to connect to `user={} database={}`: 10.10.0.3:5432 (10.10.0.3): server error: FATAL: {} (SQLSTATE {})"
HBA = 'no pg_hba.conf entry for host "10.8.0.4", user "{}", database "{}", no encryption'
LIBPQ_FATAL = 'psycopg2.OperationalError: connection to server at "10.10.0.3", port 5432 failed: FATAL:  {}'
ROLE_LIMIT = 'too many connections for role "{}"'
# MySQL's per-user limit names the user (1203 bare, 1226 quoted; MySQL Server Error Message Reference).
USER_LIMIT = "pymysql.err.OperationalError: (1203, \"User {} already has more than 'max_user_connections' active connections\")"
USER_RESOURCE = "Error 1226 (42000): User '{}' has exceeded the 'max_user_connections' resource (current value: 20)"
# libpq tries each host of a multi-host setting in turn and joins each one's error (fe-connect.c).
SOCKET_AND_HOST = ('psycopg2.OperationalError: connection to server on socket "/cloudsql/{}/.s.PGSQL.5432" failed: '
                   'FATAL:  password authentication failed for user "app"\nconnection to server at "{}", port 5432 '
                   'failed: FATAL:  password authentication failed for user "app"')
# An IAM login refused names the user it asked for (Cloud SQL's words, cloud-sql-jdbc-socket-factory issue #727), which
# the application sets, as Google's samples do, in DB_IAM_USER: the account's email without ".gserviceaccount.com".
IAM_REFUSED = 'Cloud SQL IAM service account authentication failed for user "{}"'
PG8000_FATAL = "pg8000.exceptions.DatabaseError: {{'S': 'FATAL', 'V': 'FATAL', 'C': '28000', 'M': '{}'}}"
IAM_USER = (("INSTANCE_CONNECTION_NAME", "shop:us-central1:db"), ("DB_NAME", "shop"), ("DB_IAM_USER", "app@shop.iam"))
IAM_USER_FULL_EMAIL = (("INSTANCE_CONNECTION_NAME", "shop:us-central1:db"), ("DB_NAME", "shop"),
                       ("DB_IAM_USER", "app@shop.iam.gserviceaccount.com"))
IAM_USER_NEW_NAME = (("INSTANCE_CONNECTION_NAME", "shop:us-central1:db"), ("DB_NAME", "shop_v2"),
                     ("DB_IAM_USER", "app@shop.iam"))
DB1 = (("INSTANCE_CONNECTION_NAME", "shop:us-central1:db"), ("DB_HOST", "10.10.0.3"), ("DB_USER", "app"))
DB2_SAME_HOST = (("INSTANCE_CONNECTION_NAME", "shop:us-central1:db2"), ("DB_HOST", "10.10.0.3"), ("DB_USER", "app"))
DB2_NEW_HOST = (("INSTANCE_CONNECTION_NAME", "shop:us-central1:db2"), ("DB_HOST", "10.10.0.9"), ("DB_USER", "app"))

CASES = {
    # 1. Go's bare dial: the host and port the new revision's settings pair, the one before's do not.
    "Go's dial refused at the port DB_PORT moved to": ((DIAL.format("10.10.0.3:6432"), AT_5432, AT_6432), ROLLBACK),
    "Go's dial timed out at the port DB_PORT moved to": ((DIAL_TIMEOUT.format("10.10.0.3:6432"), AT_5432, AT_6432),
                                                         ROLLBACK),
    "Go's dial at a SQLAlchemy URL's new port": ((DIAL.format("10.10.0.3:6432"), URL_5432, URL_6432), ROLLBACK),
    "Go's dial at a libpq key=value DSN's new port": ((DIAL.format("10.10.0.3:6432"), DSN_5432, DSN_6432), ROLLBACK),
    "Go's dial at the port REDIS_PORT moved to": ((DIAL.format("10.10.0.7:6380"), AT_5432 + REDIS_6379,
                                                   AT_5432 + REDIS_6380), ROLLBACK),
    "Go's dial at a REDIS_ADDR's new port": ((DIAL.format("10.10.0.7:6380"), AT_5432 + REDIS_ADDR_6379,
                                              AT_5432 + REDIS_ADDR_6380), ROLLBACK),
    # Controls: the same dial from both revisions, another host, the pair both name, the port before unknown.
    "the same dial from both revisions": ((DIAL.format("10.10.0.3:6432"), AT_5432, AT_6432, (), (), True), ESCALATE),
    "a dial at the new port of another host": ((DIAL.format("10.10.0.7:6432"), AT_5432, AT_6432), ESCALATE),
    "DB_PORT moved, Redis refused at its own port": ((DIAL.format("10.10.0.7:6379"), AT_5432 + REDIS_6379,
                                                      AT_6432 + REDIS_6379), ESCALATE),
    "REDIS_PORT moved, the database refused at its own port": ((DIAL.format("10.10.0.3:5432"), AT_5432 + REDIS_6379,
                                                                AT_5432 + REDIS_6380), ESCALATE),
    "REDIS_PORT moved, libpq refused at the database's port": ((LIBPQ_REFUSED.format(5432), AT_5432 + REDIS_6379,
                                                                AT_5432 + REDIS_6380), ESCALATE),
    "the revision before sets no port": ((DIAL.format("10.10.0.3:6432"), HOST, AT_6432), ESCALATE),
    "the revision before's env not read": ((DIAL.format("10.10.0.3:6432"), (), AT_6432), ESCALATE),
    # 3. A port under another store's name is not the database's.
    "REDIS_DB_PORT moved, libpq refused at its number": ((LIBPQ_REFUSED.format(6380),
                                                          AT_5432 + (("REDIS_DB_PORT", "6379"),),
                                                          AT_5432 + (("REDIS_DB_PORT", "6380"),)), ESCALATE),
    "MONGO_DB_PORT moved, libpq refused at its number": ((LIBPQ_REFUSED.format(27018),
                                                          HOST + (("MONGO_DB_PORT", "27017"),),
                                                          HOST + (("MONGO_DB_PORT", "27018"),)), ESCALATE),
    # 2. The user and the database a refusal names, where the deploy moved that name.
    "pgx: pg_hba.conf has no entry for the database DB_NAME moved to": (
        (PGX5.format("app", "shop_v2", HBA.format("app", "shop_v2"), "28000"), HOST, NEW_NAME), ROLLBACK),
    "pgx: pg_hba.conf has no entry for the user DB_USER moved to": (
        (PGX5.format("app_v2", "shop", HBA.format("app_v2", "shop"), "28000"), HOST, NEW_USER), ROLLBACK),
    "libpq: pg_hba.conf has no entry for the database DB_NAME moved to": (
        (LIBPQ_FATAL.format(HBA.format("app", "shop_v2")), HOST, NEW_NAME), ROLLBACK),
    "pgx: the connection limit of the role DB_USER moved to": (
        (PGX5.format("app_v2", "shop", ROLE_LIMIT.format("app_v2"), "53300"), HOST, NEW_USER), ROLLBACK),
    "libpq: the connection limit of the role DB_USER moved to": (
        (LIBPQ_FATAL.format(ROLE_LIMIT.format("app_v2")), HOST, NEW_USER), ROLLBACK),
    "go-sql-driver/mysql: the per-user limit (1226) of the user DB_USER moved to": (
        (USER_RESOURCE.format("app_v2"), HOST, NEW_USER), ROLLBACK),
    "PyMySQL: the per-user limit (1203) of the user DB_USER moved to": (
        (USER_LIMIT.format("app_v2"), HOST, NEW_USER), ROLLBACK),
    "the per-user limit (1203) of the user both revisions name, DB_NAME moved": (
        (USER_LIMIT.format("app"), HOST, NEW_NAME), ESCALATE),
    # Controls: the names refused are ones both revisions ask for, or both revisions are refused.
    "pg_hba.conf refuses the user and database both revisions ask for, DB_NAME moved": (
        (PGX5.format("app", "shop", HBA.format("app", "shop"), "28000"), HOST, NEW_NAME), ESCALATE),
    "the role limit of the user both revisions name, DB_NAME moved": (
        (LIBPQ_FATAL.format(ROLE_LIMIT.format("app")), HOST, NEW_NAME), ESCALATE),
    "pg_hba.conf refuses the new database for both revisions": (
        (PGX5.format("app", "shop_v2", HBA.format("app", "shop_v2"), "28000"), HOST, NEW_NAME, (), (), True),
        ESCALATE),
    "the role limit of a user the env names nowhere": (
        (LIBPQ_FATAL.format(ROLE_LIMIT.format("reporting")), HOST, NEW_USER), ESCALATE),
    # 5. An IAM login refused for the user the deploy moved DB_IAM_USER to (the account unchanged).
    "pg8000: the IAM login of the user DB_IAM_USER moved to": (
        (PG8000_FATAL.format(IAM_REFUSED.format("app@shop.iam.gserviceaccount.com")), IAM_USER, IAM_USER_FULL_EMAIL),
        ROLLBACK),
    "libpq: the IAM login of the user DB_IAM_USER moved to": (
        (LIBPQ_FATAL.format(IAM_REFUSED.format("app@shop.iam.gserviceaccount.com")), IAM_USER, IAM_USER_FULL_EMAIL),
        ROLLBACK),
    # Controls: the user refused is the one both revisions ask for, or both revisions are refused (a role removed).
    "the IAM login of the user both revisions ask for, DB_NAME moved": (
        (LIBPQ_FATAL.format(IAM_REFUSED.format("app@shop.iam")), IAM_USER, IAM_USER_NEW_NAME), ESCALATE),
    "the IAM login of the new user refused for both revisions": (
        (LIBPQ_FATAL.format(IAM_REFUSED.format("app@shop.iam.gserviceaccount.com")), IAM_USER, IAM_USER_FULL_EMAIL,
         (), (), True), ESCALATE),
    # 4. A refusal naming a Cloud SQL socket and a host: both must be the deploy's.
    "a socket the deploy brought and a host both name": (
        (SOCKET_AND_HOST.format("shop:us-central1:db2", "10.10.0.3"), DB1, DB2_SAME_HOST), ESCALATE),
}


@pytest.mark.parametrize("args, expected", CASES.values(), ids=CASES.keys())
def test_a_deploy_that_changed_the_connection_target(args, expected):
    judged(args, expected)


@pytest.mark.parametrize("name", ["DB_IAM_USER", "PG_IAM_USER", "MYSQL_IAM_USER", "ORDERS_DB_IAM_USER", "DB_USER"])
def test_an_iam_database_users_setting_names_the_user(name):
    assert env_hosts.holds_setting(name, "user")


PORTS_BROUGHT = {
    "REDIS_DB_PORT": "REDIS_DB_PORT", "CACHE_DB_PORT": "CACHE_DB_PORT", "MONGO_DB_PORT": "MONGO_DB_PORT",
    "MONGODB_PORT": "MONGODB_PORT", "ELASTIC_DB_PORT": "ELASTIC_DB_PORT",
}


@pytest.mark.parametrize("name", PORTS_BROUGHT.values(), ids=PORTS_BROUGHT.keys())
def test_another_stores_port_is_not_the_databases(name):
    assert env_hosts.database_ports_brought(HOST + ((name, "6379"),), HOST + ((name, "6380"),)) == (set(), [])


@pytest.mark.parametrize("name", ["DB_PORT", "ORDERS_DB_PORT", "PGPORT", "POSTGRES_PORT", "MYSQL_PORT"])
def test_the_databases_port_still_is(name):
    assert env_hosts.database_ports_brought(HOST + ((name, "5432"),), HOST + ((name, "6432"),)) == (
        {"6432"}, [f"plain env {name}"])


@pytest.mark.parametrize("name", ["REDIS_DB_HOST", "CACHE_DB_HOST", "MONGO_DB_HOST"])
def test_another_stores_host_is_no_database_address(name):
    assert env_hosts.database_address_changed(HOST + ((name, "10.0.0.7"),), HOST + ((name, "10.0.0.8"),)) == []


ENDPOINTS = {
    "DB_HOST with DB_PORT": (AT_6432, {("10.10.0.3", "6432")}),
    "PGHOST with PGPORT": ((("PGHOST", "db.internal"), ("PGPORT", "6432")), {("db.internal", "6432")}),
    "REDIS_HOST with REDIS_PORT": (REDIS_6380, {("10.10.0.7", "6380")}),
    "a bare host:port": (REDIS_ADDR_6380, {("10.10.0.7", "6380")}),
    "a URL's hosts, the default port for one that names none": (
        (("DATABASE_URL", "postgresql://u:p@10.0.0.1:6432,10.0.0.2/d"),), {("10.0.0.1", "6432"), ("10.0.0.2", "5432")}),
    "a JDBC URL": ((("SPRING_DATASOURCE_URL", "jdbc:postgresql://10.0.0.1:6432/d"),), {("10.0.0.1", "6432")}),
    "libpq's key=value DSN": (DSN_6432, {("10.10.0.3", "6432")}),
    "Go MySQL's tcp(H:P)": ((("DSN", "u:p@tcp(10.0.0.1:6033)/d"),), {("10.0.0.1", "6033")}),
    "a host with no port of its own": ((("DB_HOST", "10.10.0.3"),), set()),
    "a port with no host": ((("DB_PORT", "6432"),), set()),
}


@pytest.mark.parametrize("env, expected", ENDPOINTS.values(), ids=ENDPOINTS.keys())
def test_the_endpoints_a_revisions_env_pairs(env, expected):
    assert env_hosts.endpoints(env) == expected


MORE = {
    # redis-py's own words name the host and the port: REDIS_PORT moved, refused at the new one.
    "redis-py refused at the port REDIS_PORT moved to": (("redis.exceptions.ConnectionError: Error 111 connecting to "
                                                          "10.10.0.7:6380. Connection refused.", AT_5432 + REDIS_6379,
                                                          AT_5432 + REDIS_6380), ROLLBACK),
    "DB_PORT moved, redis-py refused at Redis's own port": (("redis.exceptions.ConnectionError: Error 111 connecting "
                                                             "to 10.10.0.7:6379. Connection refused.",
                                                             AT_5432 + REDIS_6379, AT_6432 + REDIS_6379), ESCALATE),
    "DB_PORT moved, Node refused at that number on Redis's host": (("Error: connect ECONNREFUSED 10.10.0.7:6432",
                                                                    AT_5432 + REDIS_6379, AT_6432 + REDIS_6379),
                                                                   ESCALATE),
    # The engine the line speaks of: a libpq refusal at the number MYSQL_PORT moved to is not that variable's.
    "MYSQL_PORT moved, libpq refused at its number": ((LIBPQ_REFUSED.format(3307), HOST + (("MYSQL_PORT", "3306"),),
                                                       HOST + (("MYSQL_PORT", "3307"),)), ESCALATE),
    "MYSQL_PORT moved, MySQL's 2003 at its number": (("pymysql.err.OperationalError: (2003, \"Can't connect to MySQL "
                                                      "server on '10.10.0.3:3307' ([Errno 111] Connection refused)\")",
                                                      HOST + (("MYSQL_PORT", "3306"),), HOST + (("MYSQL_PORT", "3307"),)),
                                                     ROLLBACK),
    "a MySQL URL's port moved, libpq refused at its number": ((LIBPQ_REFUSED.format(3307),
                                                               HOST + (("DATABASE_URL", "mysql://a:b@10.10.0.3:3306/d"),),
                                                               HOST + (("DATABASE_URL", "mysql://a:b@10.10.0.3:3307/d"),)),
                                                              ESCALATE),
}


@pytest.mark.parametrize("args, expected", MORE.values(), ids=MORE.keys())
def test_a_deploy_that_changed_another_dependencys_port(args, expected):
    judged(args, expected)


ENGINES = {
    LIBPQ_REFUSED.format(6432): "postgres",
    PGX5.format("app", "shop", "x", "28000"): "postgres",
    "org.postgresql.util.PSQLException: Connection to 10.10.0.3:6432 refused.": "postgres",
    "pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on '10.10.0.3:3307'\")": "mysql",
    DIAL.format("10.10.0.3:6432"): "",
    "Error: connect ECONNREFUSED 10.10.0.3:6432": "",
}


@pytest.mark.parametrize("text, engine", ENGINES.items())
def test_the_engine_a_database_line_speaks_of(text, engine):
    assert database_engine(text) == engine


# 5. Whose port or host a variable holds, from its value where the value says (a database URL's or another
# store's scheme, a server's default port), from its name only where it does not.
def _port_moved(name: str, was: str, now: str) -> tuple:
    return AT_5432 + ((name, was),), AT_5432 + ((name, now),)


STORE_PORTS = {
    "a PostgreSQL session store's SESSION_DB_PORT moved to a PgBouncer": (_port_moved("SESSION_DB_PORT", "5432", "6432"),
                                                                         ({"6432"}, ["plain env SESSION_DB_PORT"])),
    "a PostgreSQL cache's CACHE_DB_PORT moved to a PgBouncer": (_port_moved("CACHE_DB_PORT", "5432", "6432"),
                                                                ({"6432"}, ["plain env CACHE_DB_PORT"])),
    "a QUEUE_DB_PORT moved between two database ports": (_port_moved("QUEUE_DB_PORT", "3306", "6432"),
                                                         ({"6432"}, ["plain env QUEUE_DB_PORT"])),
    "an APP_DB_PORT at MongoDB's ports": (_port_moved("APP_DB_PORT", "27017", "27018"), (set(), [])),
    "a SQL_PORT at Redis's and Sentinel's ports": (_port_moved("SQL_PORT", "6379", "26379"), (set(), [])),
    # Controls: a product's name is that store's whatever the number; a role's name with no telling number.
    "REDIS_DB_PORT moved to a database's port": (_port_moved("REDIS_DB_PORT", "6379", "6432"), (set(), [])),
    "MONGO_DB_PORT moved to a database's port": (_port_moved("MONGO_DB_PORT", "27017", "5432"), (set(), [])),
    "CACHE_DB_PORT at Redis's port, then another number": (_port_moved("CACHE_DB_PORT", "6379", "6380"), (set(), [])),
    "SESSION_DB_PORT between two numbers that say nothing": (_port_moved("SESSION_DB_PORT", "7000", "7001"),
                                                             (set(), [])),
    "DB_PORT between two numbers that say nothing": (_port_moved("ORDERS_DB_PORT", "7000", "7001"),
                                                     ({"7001"}, ["plain env ORDERS_DB_PORT"])),
}


@pytest.mark.parametrize("envs, expected", STORE_PORTS.values(), ids=STORE_PORTS.keys())
def test_whose_port_a_variable_holds_is_read_from_its_value_first(envs, expected):
    assert env_hosts.database_ports_brought(*envs) == expected


def _host_moved(name: str, was: str, now: str) -> tuple:
    return HOST + ((name, was),), HOST + ((name, now),)


STORE_HOSTS = {
    "a Redis URL under DB_HOST": (_host_moved("ORDERS_DB_HOST", "redis://10.0.0.7:6379/0", "redis://10.0.0.8:6379/0"),
                                  []),
    "a MongoDB SRV URL under DB_HOST": (_host_moved("ORDERS_DB_HOST", "mongodb+srv://a.example.com",
                                                    "mongodb+srv://b.example.com"), []),
    "a host at Redis's port under DB_HOST": (_host_moved("ORDERS_DB_HOST", "10.0.0.7:6379", "10.0.0.8:6379"), []),
    "a PostgreSQL session store's host, with its port": (_host_moved("SESSION_DB_HOST", "10.0.0.7:5432",
                                                                     "10.0.0.8:5432"), ["plain env SESSION_DB_HOST"]),
    "a cache's host given as a database URL": (_host_moved("CACHE_DB_HOST", "tcp://10.0.0.7:5432",
                                                           "tcp://10.0.0.8:5432"), ["plain env CACHE_DB_HOST"]),
    # Controls: no telling value, the name decides.
    "a session store's bare host": (_host_moved("SESSION_DB_HOST", "10.0.0.7", "10.0.0.8"), []),
    "a database's bare host": (_host_moved("ORDERS_DB_HOST", "10.0.0.7", "10.0.0.8"), ["plain env ORDERS_DB_HOST"]),
    "a Redis host at a database's port": (_host_moved("REDIS_DB_HOST", "10.0.0.7:5432", "10.0.0.8:5432"), []),
}


@pytest.mark.parametrize("envs, expected", STORE_HOSTS.values(), ids=STORE_HOSTS.keys())
def test_whose_host_a_variable_holds_is_read_from_its_value_first(envs, expected):
    assert env_hosts.database_address_changed(*envs) == expected


JUDGED_STORES = {
    "libpq refused at the PgBouncer port a session store's SESSION_DB_PORT moved to": (
        (LIBPQ_REFUSED.format(6432), *_port_moved("SESSION_DB_PORT", "5432", "6432")), ROLLBACK),
    # Controls: a bare dial at a port no host of its variable's pairs (endpoint_brought), Redis's own numbers, a product's name at a database's number, the same refusal from both.
    "Go's dial at the PgBouncer port CACHE_DB_PORT moved to, with no CACHE_DB_HOST": (
        (DIAL.format("10.10.0.3:6432"), *_port_moved("CACHE_DB_PORT", "5432", "6432")), ESCALATE),
    "libpq refused at the number a CACHE_DB_PORT at Redis's port moved to": (
        (LIBPQ_REFUSED.format(6380), *_port_moved("CACHE_DB_PORT", "6379", "6380")), ESCALATE),
    "libpq refused at a database's port REDIS_DB_PORT moved to": (
        (LIBPQ_REFUSED.format(6432), *_port_moved("REDIS_DB_PORT", "6379", "6432")), ESCALATE),
    "the session store's new port refused for both revisions": (
        (LIBPQ_REFUSED.format(6432), *_port_moved("SESSION_DB_PORT", "5432", "6432"), (), (), True), ESCALATE),
}


@pytest.mark.parametrize("args, expected", JUDGED_STORES.values(), ids=JUDGED_STORES.keys())
def test_a_deploy_that_moved_a_store_whose_value_says_it_is_the_database(args, expected):
    judged(args, expected)


# 6. A pg_hba.conf refusal naming a database whose setting a pinned secret holds, its version moved by the deploy:
# the secret's value is never read, so the database is tied to the secret only where no plain setting of either
# revision asks for it and the user it names is one the deploy did not change.
def _secret(env: str, secret: str, version: str) -> tuple:
    return (SecretRef(env=env, secret=secret, version=version),)


ONLY_HOST = (("DB_HOST", "10.10.0.3"),)
ONLY_HOST_USER = ONLY_HOST + (("DB_USER", "app"),)
NAME_V3, NAME_V4 = _secret("DB_NAME", "shop-db-name", "3"), _secret("DB_NAME", "shop-db-name", "4")
DSN_V3, DSN_V4 = _secret("DATABASE_URL", "shop-dsn", "3"), _secret("DATABASE_URL", "shop-dsn", "4")
PASS_V3, PASS_V4 = _secret("DB_PASSWORD", "shop-db-pass", "3"), _secret("DB_PASSWORD", "shop-db-pass", "4")
NAME_LATEST_ = _secret("DB_NAME", "shop-db-name", "latest")
HBA_PGX = PGX5.format("app", "shop_v2", HBA.format("app", "shop_v2"), "28000")
HBA_LIBPQ = LIBPQ_FATAL.format(HBA.format("app", "shop_v2"))

IN_SECRETS = {
    "pgx: pg_hba.conf has no entry for the database a moved DB_NAME secret version holds": (
        (HBA_PGX, ONLY_HOST_USER, ONLY_HOST_USER, NAME_V3, NAME_V4), ROLLBACK),
    "libpq: pg_hba.conf has no entry for the database a moved DB_NAME secret version holds": (
        (HBA_LIBPQ, ONLY_HOST_USER, ONLY_HOST_USER, NAME_V3, NAME_V4), ROLLBACK),
    "libpq: pg_hba.conf, the user and database both in a moved DATABASE_URL secret": (
        (HBA_LIBPQ, ONLY_HOST, ONLY_HOST, DSN_V3, DSN_V4), ROLLBACK),
    # Controls: the secret rotated with nothing else moved, read at latest by the revision before, not the
    # database's; the database a plain setting of the revision before asks for; the user moved as well.
    "the DB_NAME secret at the same version": ((HBA_LIBPQ, ONLY_HOST_USER, ONLY_HOST_USER, NAME_V3, NAME_V3), ESCALATE),
    "only the password secret moved": ((HBA_LIBPQ, HOST, HOST, PASS_V3, PASS_V4), ESCALATE),
    "the revision before reads DB_NAME at latest": ((HBA_LIBPQ, ONLY_HOST_USER, ONLY_HOST_USER, NAME_LATEST_, NAME_V4),
                                                    ESCALATE),
    "the database the revision before's plain DB_NAME asks for": (
        (HBA_LIBPQ, ONLY_HOST_USER + (("DB_NAME", "shop_v2"),), ONLY_HOST_USER, (), NAME_V4), ESCALATE),
    "the user refused moved by a secret read at latest": (
        (HBA_LIBPQ, ONLY_HOST, ONLY_HOST, NAME_V3 + _secret("DB_USER", "u", "latest"),
         NAME_V4 + _secret("DB_USER", "u2", "latest")), ESCALATE),
    "refused for both revisions": ((HBA_LIBPQ, ONLY_HOST_USER, ONLY_HOST_USER, NAME_V3, NAME_V4, True), ESCALATE),
}


@pytest.mark.parametrize("args, expected", IN_SECRETS.values(), ids=IN_SECRETS.keys())
def test_a_pg_hba_refusal_of_a_database_a_moved_secret_holds(args, expected):
    judged(args, expected)
