"""Whether a revision's plain environment values name a host, which names a deploy swapped, and
which Cloud SQL instance connection names they hold: pure, no I/O.

A revision's env values can hold secrets (a password in a DSN): they are compared here and never
quoted. What a caller may say is only the host it asked about, which the application's own log
lines already printed.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from shared.gcp.identifiers import SqlInstance

# libpq's keyword/value connection string: "host=H port=5432 dbname=D" (PostgreSQL docs, "Connection
# Strings", 34.1.1.1 Keyword/Value Connection Strings); host may list several hosts, comma-separated.
_KEYWORD_HOST = re.compile(r"(?:^|[\s;])(?:host|server|data source|hostname)\s*=\s*'?([^\s;']+)", re.IGNORECASE)
# Go's MySQL driver DSN: "user:pass@tcp(H:3306)/db" (go-sql-driver/mysql README, "DSN").
_GO_MYSQL = re.compile(r"@tcp6?\(([^)]+)\)", re.IGNORECASE)


def _bare(host: str) -> str:
    """A host as a lookup names it: lower case, no port, no trailing dot."""
    host = host.strip()
    if host.startswith("["):          # an IPv6 literal names no looked-up host
        return ""
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit():
        host = name
    return host.rstrip(".").lower()


def _url_hosts(value: str) -> list[str]:
    """The hosts of a URL's authority: `postgresql://u:p@h1:5432,h2/db` -> [h1, h2]; a JDBC URL's
    `jdbc:` prefix is dropped first (`jdbc:postgresql://h/db`)."""
    if "://" not in value:
        return []
    if value.lower().startswith("jdbc:"):
        value = value[5:]
    try:
        netloc = urlsplit(value.strip()).netloc
    except ValueError:
        return []
    return [_bare(h) for h in netloc.rpartition("@")[2].split(",") if h]


def _keyword_hosts(host: str) -> list[str]:
    """The hosts of a keyword DSN's host value: libpq's comma-separated list ("host=h1,h2"), or ADO.NET's
    SQL Server "Server=tcp:H,PORT" (SqlConnection.ConnectionString: "You can specify a port number after the
    server name: server=tcp:servername, portnumber", learn.microsoft.com): a part that is only digits is that
    port, never a host, and SqlClient's "tcp:" protocol prefix names none."""
    parts = (h.strip() for h in host.split(","))
    return [_bare(h[4:] if h.lower().startswith("tcp:") else h) for h in parts if h and not h.isdigit()]


def value_hosts(value: str) -> set[str]:
    """The hosts one env value names: the whole value (a bare host, with or without its port), a
    URL's or DSN's host(s) (`scheme://…@host:port/…`, libpq's `host=H`, Go MySQL's `tcp(H:P)`)."""
    hosts = {_bare(value)} | set(_url_hosts(value))
    for found in _KEYWORD_HOST.finditer(value):
        hosts.update(_keyword_hosts(found.group(1)))
    for found in _GO_MYSQL.finditer(value):
        hosts.update(_bare(h) for h in found.group(1).split(","))
    return hosts - {""}


def _structural_hosts(value: str) -> set[str]:
    """The hosts a URL's or DSN's structure names (`_url_hosts`, libpq's `host=H`, Go MySQL's `tcp(H:P)`),
    not the whole value read as one."""
    hosts = set(_url_hosts(value))
    for found in _KEYWORD_HOST.finditer(value):
        hosts.update(_keyword_hosts(found.group(1)))
    for found in _GO_MYSQL.finditer(value):
        hosts.update(_bare(h) for h in found.group(1).split(","))
    return hosts


# A value shaped as a database's connection settings: a URL whose scheme is a database's (SQLAlchemy's
# "postgresql+psycopg2://", Prisma's and node-postgres' "postgres://", a JDBC URL: "jdbc:postgresql://",
# "jdbc:mysql://", "jdbc:sqlserver://", Ecto's "ecto://USER:PASS@HOST/DATABASE" as Phoenix's generated
# config/runtime.exs reads DATABASE_URL (Ecto.Repo's documented URL form)), Go MySQL's DSN (`@tcp(H:P)/db`), or a keyword DSN (libpq's
# "host=H dbname=D", ADO.NET's "Server=H;Database=D": two settings or more, one of them the host).
_DATABASE_URL = re.compile(r"^\s*(?:jdbc:)?(?:postgres(?:ql)?|mysql|mariadb|sqlserver|mssql|cockroachdb|ecto)(?:\+[\w-]+)?:",
                           re.IGNORECASE)


def _database_setting(value: str) -> bool:
    return (_DATABASE_URL.match(value) is not None or _GO_MYSQL.search(value) is not None
            or (_KEYWORD_HOST.search(value) is not None and value.count("=") >= 2))


def database_hosts(values: Iterable[str]) -> set[str] | None:
    """The hosts the database's connection settings among `values` name (lower case, no port), for
    placing a dial whose own words name no address; None when the values do not place it:
    - any value holds a Cloud SQL instance connection name (`connection_names`): the Cloud SQL
      connectors and the Auth Proxy ask the Cloud SQL Admin API's connectSettings for the instance's
      address, which no env value gives: "The SocketFactory will get your instances IP address based on
      the provided `cloudSqlInstance` arg", public first unless asked ("If not specified, the default
      used is `ipTypes=PUBLIC,PRIVATE`", GoogleCloudPlatform/cloud-sql-jdbc-socket-factory
      docs/jdbc-postgres.md; the Python and Go connectors' own defaults UNCONFIRMED here);
    - the values shaped as a database's settings (`_database_setting`) name a host that is not an IP
      literal (a name, whose address is DNS's; a Unix socket directory; none at all, as the Java
      connector's "jdbc:postgresql:///db?cloudSqlInstance=...");
    - with no such value, another value is a bare dotted DNS name (a `DB_HOST=orders-db.internal`).
    With no such value and no bare name, the bare IP literals (`DB_HOST=10.20.0.5`) are the hosts. A
    value of another shape (an HTTP URL, a Redis host beside a database URL) is never the database's."""
    values = tuple(values)
    if connection_names(values):
        return None
    settings = [v for v in values if _database_setting(v)]
    if settings:
        hosts = {h for v in settings for h in _structural_hosts(v)}
        if not hosts or any(h.startswith("/") or not _address_literal(h) for h in hosts):
            return None
        return hosts
    bare = {_bare(v) for v in values} - {""}
    if any(_dns_name(h) for h in bare):
        return None
    return {h for h in bare if _address_literal(h)}


def _address_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def names_host(values: Iterable[str], host: str) -> bool:
    """Whether any of `values` names `host` (case-insensitive, a trailing dot ignored)."""
    wanted = _bare(host)
    return bool(wanted) and any(wanted in value_hosts(v) for v in values)


def deploy_brought(hosts: Iterable[str], new: tuple[str, ...], before: tuple[str, ...]) -> bool:
    """Whether the deploy brought every one of `hosts` (the names failed lookups named): each named
    by a plain env value of the new revision and by none of the revision it replaced, which has
    plain env values of its own. False when no host is given, or the revision before has no plain
    value read (env from secrets only, or not read): what it named is then unknown."""
    hosts = set(hosts)
    return (bool(hosts) and bool(before) and "" not in hosts
            and all(names_host(new, h) and not names_host(before, h) for h in hosts))


# A DNS name as a plain env value holds it: two or more labels of letters, digits and hyphens, none
# starting or ending with a hyphen, at most 63 characters each (RFC 1123 §2.1, RFC 1035 §2.3.1), the
# last of letters only: a top-level domain is never all-numeric (RFC 3696 §2), and none has digits
# (IANA's root zone; an IDN's "xn--" form is left out, UNCONFIRMED as an env value), so a version
# ("1.4.2", "v2.0.1") is no name.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOTTED_NAME = re.compile(rf"(?:{_LABEL}\.)+[a-z]{{2,63}}")
# A dotted word that names a file, not a host ("logging.yaml", "app.properties", a stack frame's
# "InetAddress.java:1534"): the suffixes configuration and source files carry. A heuristic on
# purpose (".py" and ".sh" are also country domains): a file name miscounted as a host only makes
# the count of names a deploy changed larger, which makes deploy_swapped_one_name say no.
_FILE_SUFFIXES = frozenset({"yaml", "yml", "json", "xml", "toml", "ini", "conf", "cfg", "properties", "env", "txt",
                            "pem", "crt", "cer", "key", "p12", "jks", "log", "sql", "csv", "html", "js", "mjs", "ts",
                            "py", "rb", "jar", "war", "sh", "zip", "gz", "tar", "lock", "md", "java", "kt", "go",
                            "scala", "cs", "php", "rs", "cjs"})


def _dns_name(host: str) -> bool:
    """Whether `host` (lower case, no port) is a dotted DNS name a resolver is asked for: not a plain
    word, not an IP literal (getaddrinfo returns a numeric address without asking DNS: POSIX
    getaddrinfo, "If the nodename argument is a numeric host address string, no name resolution is
    done"; so a mistyped address fails a connection, never a lookup), not a file name."""
    if not _DOTTED_NAME.fullmatch(host) or host.rpartition(".")[2] in _FILE_SUFFIXES:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


def looked_up_names(value: str) -> set[str]:
    """The names one env value gives a resolver to look up, read from its shape alone: a URL's or
    DSN's host (`scheme://…@host:port/…`, JDBC, libpq's `host=H`, Go MySQL's `tcp(H:P)`; a single
    label there is a host by its place, resolved on Google Cloud only through the resolver's search
    domains), or the whole value when it is a dotted DNS name (`_dns_name`). Not: a plain word
    (`orders`, `debug`, `europe-west1`: a host only when a lookup line names exactly that word,
    `names_host`), an IP literal (never looked up), a Unix socket directory (libpq's `host=/cloudsql/
    P:R:I`: "If a host name looks like an absolute path name, it specifies Unix-domain
    communication", PostgreSQL docs 34.1.2 Parameter Key Words), nor a Cloud SQL instance
    connection name `P:R:I` (the Cloud SQL connectors and the Auth Proxy ask the Cloud SQL Admin
    API's connectSettings for the instance's address, not DNS: a typo there is their "instance does
    not exist", not a failed lookup)."""
    structural = set(_url_hosts(value))
    for found in (*_KEYWORD_HOST.finditer(value), *_GO_MYSQL.finditer(value)):
        structural.update(_bare(h) for h in found.group(1).split(","))
    whole = _bare(value)
    names = {h for h in structural if h and not h.startswith("/") and _not_an_address(h)}
    return names | ({whole} if _dns_name(whole) else set())


def _not_an_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return ":" not in host    # a connection name P:R:I, or an address's remains
    return False


def deploy_swapped_one_name(new: tuple[str, ...], before: tuple[str, ...]) -> str:
    """The one name the deploy put in place of another, or "": the new revision's plain env values
    give exactly one name to look up (`looked_up_names`) that the revision before's do not, and
    drop exactly one it gave: a host setting retyped (`DB_HOST`, a `DATABASE_URL`'s host), every
    other name the same. "" when the revision before's plain env was not read, when no name changed
    (an image-only deploy; a feature flag, a plain word, an address or a connection name changed),
    when a name was only added or only dropped, or when more than one changed: a failed lookup that
    names no host is then not shown to be of the name the deploy brought. The name is an env value:
    the caller compares it and never shows it."""
    if not before or not new:
        return ""
    old_names = {n for v in before for n in looked_up_names(v)}
    new_names = {n for v in new for n in looked_up_names(v)}
    brought, dropped = new_names - old_names, old_names - new_names
    return next(iter(brought)) if len(brought) == 1 and len(dropped) == 1 else ""


def mentions_name(text: str, values: tuple[str, ...]) -> bool:
    """Whether `text` holds, whole, a name the env `values` give to look up (case-insensitive): a
    line that quotes one in words lookup_host does not read (redis-py's "Error -2 connecting to
    H:6379. Name or service not known.") may be about it."""
    lowered = text.lower()
    return any(re.search(rf"(?<![\w.-]){re.escape(n)}(?![\w-]|\.\w)", lowered)
               for v in values for n in looked_up_names(v))


# A Cloud SQL instance connection name, "PROJECT:REGION:INSTANCE" (a domain-scoped project keeps its
# "example.com:" part; shared/gcp/identifiers.SqlInstance parses it), whole or in the Unix socket path
# Cloud Run mounts, "/cloudsql/P:R:I" (Cloud Run docs "Connect from Cloud Run to Cloud SQL"),
# wherever a value holds it (a DSN's host=, a unix(...) address, a URL's ?host= or unix_socket=).
_COLON_TOKEN = re.compile(r"(?<![\w.:-])[\w.-]+(?::[\w.-]+){2,3}(?![\w:-])")


def connection_names(values: Iterable[str]) -> set[tuple[str, str, str]]:
    """The Cloud SQL instance connection names `values` hold, as (project, region, instance), lower case."""
    names = set()
    for token in (t.lower() for v in values for t in _COLON_TOKEN.findall(v)):
        try:
            sql = SqlInstance.parse(token)
        except ValueError:
            continue
        names.add((sql.project, sql.region, sql.instance))
    return names


def deploy_brought_instance(named: tuple[str, str, str], new: set[tuple[str, str, str]],
                            before: set[tuple[str, str, str]]) -> bool:
    """Whether the deploy brought the instance a refusal names (project, region, instance; region ""
    when the line names none): one of `new`'s connection names is it and none of `before`'s is, and
    `before` holds one of its own (the deploy put a name in place of another, not a name never read)."""
    def same(name: tuple[str, str, str]) -> bool:
        return name[0] == named[0] and name[2] == named[2] and named[1] in ("", name[1])
    return bool(before) and any(map(same, new)) and not any(map(same, before))


# A dotted name with a port after it, as clients print the address they dial ("H:6379", "H:443").
_HOST_PORT = re.compile(rf"(?<![\w.-])((?:{_LABEL}\.)+[a-z]{{2,63}})\.?:\d{{1,5}}(?!\d)", re.IGNORECASE)


def hosts_with_ports(text: str) -> set[str]:
    """The DNS names `text` quotes with a port after them (lower case), file names left out: a line
    that says it dialled one names a host, whether or not lookup_host reads its words."""
    return {m.group(1).lower() for m in _HOST_PORT.finditer(text) if _dns_name(m.group(1).lower())}


# A plain env var whose name says it holds the database's host ("DB_HOST", "PGHOST", "MYSQL_ADDR",
# "DATABASE_SERVER"): a bare value (`DB_HOST=10.50.0.3`) is the database's only by its name. Another
# host setting ("REDIS_HOST", "CACHE_ADDR") is not: a deploy moving a cache says nothing of the
# database's answers.
_DATABASE_HOST_NAME = re.compile(r"(?:^|_)(?:DB|DATABASE|PG|POSTGRES(?:QL)?|MYSQL|MARIADB|SQL)(?:_\w*)?_?"
                                 r"(?:HOST|HOSTNAME|ADDR|ADDRESS|SERVER|ENDPOINT)(?:$|_)", re.IGNORECASE)
# A variable of another store, whatever "DB" its name also holds, by its name: a product's (Redis numbers its
# databases, "REDIS_DB_PORT"; MongoDB calls itself a database, "MONGO_DB_PORT") or a role's ("CACHE_DB_HOST",
# "SESSION_DB_PORT", "QUEUE_DB_HOST"). A product's word is that store's whatever the value; a role's is
# only a guess (a session store or a cache is often PostgreSQL too), so the value decides first
# (`_store_of_value`), the name only where the value says nothing.
_STORE_PRODUCT = re.compile(r"(?:^|_)(?:REDIS|VALKEY|KEYDB|DRAGONFLY|MEMCACHED?|MONGO|ELASTIC|OPENSEARCH|SOLR"
                            r"|KAFKA|RABBIT|AMQP|NATS|INFLUX|CASSANDRA|SCYLLA|NEO4J|COUCH|ETCD|FIRESTORE|DATASTORE"
                            r"|BIGTABLE|SPANNER)", re.IGNORECASE)
_STORE_ROLE = re.compile(r"(?:^|_)(?:CACHE|SESSION|QUEUE|BROKER|SEARCH)", re.IGNORECASE)
# The ports a value names that say whose it is, each server's default listening port: PostgreSQL's 5432
# (PostgreSQL docs 34.1.2 "port"), PgBouncer's 6432 (pgbouncer.ini listen_port), MySQL's and MariaDB's 3306
# (MySQL reference, "port"), SQL Server's 1433 (learn.microsoft.com, "Configure a Server to Listen on a
# Specific TCP Port"), CockroachDB's 26257 (cockroach start --listen-addr); and another store's: Redis's
# 6379 and Sentinel's 26379 (redis.conf, sentinel.conf), Memcached's 11211, MongoDB's 27017-27019
# ("Default MongoDB Port", mongod, shardsvr, configsvr), Elasticsearch's 9200/9300, AMQP's 5672/5671
# (RabbitMQ "Networking"), Kafka's 9092, NATS's 4222, Cassandra's 9042, etcd's 2379, InfluxDB's 8086,
# Neo4j's 7687, CouchDB's 5984, Solr's 8983. Any other number says nothing either way.
_DATABASE_PORTS = frozenset({"5432", "6432", "3306", "1433", "26257"})
_STORE_PORTS = frozenset({"6379", "26379", "11211", "27017", "27018", "27019", "9200", "9300", "5672", "5671", "9092",
                          "4222", "9042", "2379", "8086", "7687", "5984", "8983"})
_DATABASE, _ANOTHER_STORE = "database", "another store"


# The URL schemes of other stores' clients: redis-py's and ioredis' "redis://" and "rediss://" (TLS;
# redis-py's Redis.from_url), Valkey's "valkey://", MongoDB's "mongodb://" and "mongodb+srv://"
# (MongoDB docs, "Connection Strings"), AMQP's "amqp://"/"amqps://" (RabbitMQ, "URI Specification"), NATS's
# "nats://", Memcached's "memcached://", Kafka's "kafka://", and HTTP's (Elasticsearch, Solr, an API).
_STORE_SCHEME = re.compile(r"^\s*(?:rediss?|valkey|mongodb(?:\+srv)?|amqps?|nats|memcached?|kafka|https?)://",
                           re.IGNORECASE)


def _store_of_value(value: str) -> str:
    """Whose setting a value says it is, by its own shape: _DATABASE for a database URL's scheme
    (`_DATABASE_URL`) or a database's default port (`_DATABASE_PORTS`), bare ("5432"), after a host
    ("10.0.0.3:5432") or in a URL of no store's scheme ("tcp://10.0.0.3:5432"); _ANOTHER_STORE for another
    store's URL scheme (`_STORE_SCHEME`: "redis://", "mongodb+srv://") or its default port ("6379",
    "10.0.0.7:27017"); "" when it says neither (a bare host, another number)."""
    value = value.strip()
    if _DATABASE_URL.match(value):
        return _DATABASE
    if _STORE_SCHEME.match(value):
        return _ANOTHER_STORE
    bare = _BARE_ENDPOINT.match(value.rpartition("://")[2].rstrip("/"))
    port = (bare.group(2) if bare else value).lstrip("0")
    return _DATABASE if port in _DATABASE_PORTS else _ANOTHER_STORE if port in _STORE_PORTS else ""


def store_address_moved(before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...]) -> list[str]:
    """The plain env vars, by name, that both revisions hold as another store's setting (a cache's, a queue's: a
    name under a store's product or role, `_STORE_PRODUCT`/`_STORE_ROLE`, or a value of such a store's own shape,
    `_store_of_value`) and that name a host on both, another one on each: `REDIS_HOST` 10.60.0.4 -> 10.60.0.5 (a
    Memorystore instance's read endpoint in place of its primary's: addresses, which `looked_up_names` leaves out,
    since a literal is no name to look up), `REDIS_URL` redis://10.60.0.4 -> redis://10.60.0.5. The writes then go
    to the other server, whose own state is what it answers. [] when either env was not read. Names only: a value
    may hold a password."""
    if not before or not after:
        return []
    def stores(env: tuple[tuple[str, str], ...]) -> dict[str, set[str]]:
        return {name: value_hosts(value) for name, value in env
                if _store_of_value(value) == _ANOTHER_STORE
                or (not _store_of_value(value) and (_STORE_PRODUCT.search(name) or _STORE_ROLE.search(name)))}
    old, new = stores(before), stores(after)
    return sorted(name for name in old.keys() & new.keys() if old[name] and new[name] and old[name] != new[name])


# An address a line names with its port after it, as a client or the application's own log prints the server it
# called ("10.60.0.9:6379", "redis://10.60.0.9:6379", "addr=cache.internal.example:6379"): an IPv4 literal or a
# dotted DNS name (`_dns_name`: no file name, no version).
_ADDRESS_PORT = re.compile(rf"(?<![\w.-])((?:\d{{1,3}}\.){{3}}\d{{1,3}}|(?:{_LABEL}\.)+[a-z]{{2,63}})\.?:\d{{1,5}}(?!\d)",
                           re.IGNORECASE)


def addresses_with_ports(text: str) -> set[str]:
    """The servers `text` names with a port after them, lower case, without the port: IPv4 literals and DNS names
    (a line that names the server it called names the store that answered)."""
    return {m.group(1).lower() for m in _ADDRESS_PORT.finditer(text)
            if _address_literal(m.group(1)) or _dns_name(m.group(1).lower())}


def settings_name(before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...],
                  addresses: set[str]) -> set[str]:
    """Of the servers a line names (`addresses`, `addresses_with_ports`), those a plain env value of either
    revision names (`value_hosts`, lower case): the only ones that can say which setting the answering store is.
    A line also names servers no setting names: the client's own local address ("local=10.8.0.3:50412"), a proxy,
    another cluster node a redirect points to (Redis's "MOVED 12182 127.0.0.1:6463" names the node serving the
    key's slot: redis.io "MOVED error" and the Redis cluster specification's "MOVED Redirection"; ASK's reply has
    the same slot-and-endpoint form there, word for word UNCONFIRMED), a Sentinel the client asked; such a server
    neither confirms nor refutes which store answered."""
    named = {host.lower() for _, value in before + after for host in value_hosts(value)}
    return addresses & named


def store_moved_to(before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...],
                   addresses: set[str]) -> list[str]:
    """The plain env vars, by name, that both revisions hold and that the deploy moved to the servers a store's
    answers name (`addresses`, `addresses_with_ports`), whatever the variable's name or its value's shape
    (`FAST_KV` 10.60.0.4 -> 10.60.0.9, the answers naming 10.60.0.9:6379): the variable that names the server
    that answered is that store's setting. Only the addresses a setting of either revision names decide
    (`settings_name`: a client's local address, a proxy, a redirect's other node neither confirm nor refute);
    every one of those must be one only the new revision names, each by such a variable that named another host
    before; [] otherwise (an address the revision before names too is a store both call, whatever else moved),
    when no address a setting names is among them, or when either env was not read. Names only: a value may
    hold a password."""
    addresses = settings_name(before, after, addresses)
    if not before or not after or not addresses:
        return []
    old = {name: {h.lower() for h in value_hosts(value)} for name, value in before}
    new = {name: {h.lower() for h in value_hosts(value)} for name, value in after}
    if set().union(*old.values()) & addresses:
        return []
    moved = sorted(name for name in old.keys() & new.keys() if new[name] & addresses and old[name])
    return moved if set().union(*(new[name] for name in moved)) >= addresses else []


def _database_variable(pattern: "re.Pattern[str]", name: str, value: str) -> bool:
    """Whether a plain env var holds the SQL database's setting `pattern` reads by name (its host, its
    port), and no other store's: its value decides where it says whose it is (`_store_of_value`:
    SESSION_DB_PORT=6432 is a PostgreSQL session store's, DB_HOST=redis://... is Redis's), except under a
    product's name (REDIS_DB_PORT=5432 names two stores: not shown to be the database's); its name where
    the value says nothing (CACHE_DB_HOST=10.0.0.8 is a cache's)."""
    if pattern.search(name) is None:
        return False
    said = _store_of_value(value)
    if said:
        return said == _DATABASE and _STORE_PRODUCT.search(name) is None
    return _STORE_PRODUCT.search(name) is None and _STORE_ROLE.search(name) is None


def _database_address(name: str, value: str) -> set[str]:
    """The database hosts and Cloud SQL connection names one plain env var gives ("p:r:i" for a
    connection name): a database's connection settings' host(s) (`_database_setting`: a database
    URL, Go MySQL's DSN, libpq's or ADO.NET's keyword form), a bare host under a database host's name
    (`_DATABASE_HOST_NAME`), or the connection names it holds. Nothing for any other value."""
    found = {":".join(n) for n in connection_names((value,))}
    if _database_setting(value):
        found |= {h for h in _structural_hosts(value) if not h.startswith("/")}
    elif _database_variable(_DATABASE_HOST_NAME, name, value):
        found |= {_bare(value)} - {""}
    return found


def database_address_changed(before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...],
                             before_volumes: tuple[str, ...] = (), after_volumes: tuple[str, ...] = ()) -> list[str]:
    """Where the new revision points at another database than the revision before, by name only
    (a value may hold a password; the caller never shows one): each plain env var (name, value)
    whose database hosts or connection names (`_database_address`) differ between the two, and
    "its Cloud SQL volume" when the instances it mounts (Revision.volumes[].cloud_sql_instance,
    revision.proto) differ. [] when either plain env was not read (() is none read: an unread env is
    no evidence of a change), when neither revision names a database address at all, or when only
    the letter case or a port changed. A variable added or removed counts only when the other
    revision names no database address of its own under any variable that stays (a DB_HOST renamed
    DATABASE_HOST with the same host is no move): the addresses compared are every variable's
    together, and the variables named are those whose own addresses differ. A variable both revisions
    hold that names a database address on both and another one on each is a move whatever the others
    hold: two addresses swapped between DB_HOST and REPORTS_DB_HOST leave the same addresses together,
    and the writes go to the other server."""
    if not before or not after:
        return []
    old = {name: _database_address(name, value) for name, value in before}
    new = {name: _database_address(name, value) for name, value in after}
    old_all = set().union(*old.values()) | {":".join(n) for n in connection_names(before_volumes)}
    new_all = set().union(*new.values()) | {":".join(n) for n in connection_names(after_volumes)}
    kept_moved = any(old[name] and new[name] and old[name] != new[name] for name in old.keys() & new.keys())
    if not old_all or not new_all or (old_all == new_all and not kept_moved):
        return []
    changed = [f"plain env {name}" for name in sorted(old.keys() | new.keys())
               if old.get(name, set()) != new.get(name, set()) and (old.get(name) or new.get(name))]
    if connection_names(before_volumes) != connection_names(after_volumes):
        changed.append("its Cloud SQL volume")
    return changed


# Which database and which user a connection asks for, besides where it connects: the server answers
# a database it does not hold with PostgreSQL's 3D000 'database "x" does not exist' and MySQL's 1049
# "Unknown database", a user it does not know with 28000 'role "x" does not exist' and MySQL's 1045
# "Access denied for user" (PostgreSQL src/backend/utils/init/postinit.c and miscinit.c; MySQL's
# server error reference, ER_BAD_DB_ERROR and ER_ACCESS_DENIED_ERROR). A plain env var under a name
# that says it holds one ("DB_NAME", "PGDATABASE", "MYSQL_DATABASE"; "DB_USER", "PGUSER" - libpq's own
# variables, PostgreSQL docs 34.15 "Environment Variables"), or a connection string's part: a URL's
# path and user (RFC 3986 userinfo before ':'), libpq's `dbname=`/`user=` (34.1.2 "Parameter Key
# Words"), ADO.NET's `Database=`/`Initial Catalog=`/`User Id=`/`Uid=`, Go MySQL's `user:pass@tcp(H)/db`
# (go-sql-driver/mysql README, "DSN").
_DATABASE_NAME_NAME = re.compile(r"^(?:PGDATABASE|(?:\w*_)?(?:DB|DATABASE|PG|POSTGRES(?:QL)?|MYSQL|MARIADB|SQL)_?"
                                 r"(?:NAME|DB|DATABASE|CATALOG))$", re.IGNORECASE)
# An IAM database user's setting is named so too, with IAM before USER: DB_IAM_USER, as Google's samples read the
# user the Cloud SQL connectors log in as (GoogleCloudPlatform/python-docs-samples
# cloud-sql/postgres/sqlalchemy/connect_connector_auto_iam_authn.py, `os.environ["DB_IAM_USER"]`).
_DATABASE_USER_NAME = re.compile(r"^(?:PGUSER|(?:\w*_)?(?:DB|DATABASE|PG|POSTGRES(?:QL)?|MYSQL|MARIADB|SQL)_?"
                                 r"(?:IAM_?)?(?:USER|USERNAME|LOGIN|ROLE))$", re.IGNORECASE)
_KEYWORD_DATABASE = re.compile(r"(?:^|[\s;?&])(?:dbname|database|initial catalog)\s*=\s*'?([^\s;'&]+)", re.IGNORECASE)
_KEYWORD_USER = re.compile(r"(?:^|[\s;?&])(?:user|user id|userid|uid|username)\s*=\s*'?([^\s;'&]+)", re.IGNORECASE)
_GO_MYSQL_PARTS = re.compile(r"^([^:@/\s]*)(?::[^@]*)?@tcp6?\([^)]*\)/([^?\s]*)", re.IGNORECASE)


# An env var's name that says it holds a whole connection string ("DATABASE_URL", "PG_DSN",
# "SPRING_DATASOURCE_URL", "DB_CONNECTION_STRING"): its database and user with the rest.
_CONNECTION_STRING_NAME = re.compile(r"(?:^|_)(?:DB|DATABASE|DATASOURCE|PG|POSTGRES(?:QL)?|MYSQL|MARIADB|SQL)\w*_"
                                     r"(?:URL|URI|DSN|CONNECTION_STRING|CONN_STR)$|^(?:DSN|CONNECTION_STRING)$",
                                     re.IGNORECASE)


def holds_setting(name: str, what: str) -> bool:
    """Whether an env var's name says it holds the database (`what` "database") or user ("user") a
    connection asks for: that setting's own name (DB_NAME, PGUSER) or a connection string's (DATABASE_URL).
    Read from the name alone: for a var read from a secret, whose value is never read."""
    return bool((_DATABASE_NAME_NAME if what == "database" else _DATABASE_USER_NAME).search(name)
                or _CONNECTION_STRING_NAME.search(name))


def _url_parts(value: str) -> tuple[str, str]:
    """A database URL's user and database (its path's first segment), "" for either absent."""
    if "://" not in value:
        return "", ""
    value = value.strip()
    if value.lower().startswith("jdbc:"):
        value = value[5:]
    try:
        parts = urlsplit(value)
    except ValueError:
        return "", ""
    user = unquote(parts.netloc.rpartition("@")[0].partition(":")[0]) if "@" in parts.netloc else ""
    return user, unquote(parts.path.lstrip("/").partition("/")[0])


def _asked_for(name: str, value: str, what: str) -> set[str]:
    """The databases (`what` "database") or users ("user") one plain env var asks for: a connection
    string's own part (`_database_setting`) or a bare value under a name that says it holds one."""
    bare_name, keyword = ((_DATABASE_NAME_NAME, _KEYWORD_DATABASE) if what == "database"
                          else (_DATABASE_USER_NAME, _KEYWORD_USER))
    if _database_setting(value):
        go = _GO_MYSQL_PARTS.match(value.strip())
        found = {go.group(1 if what == "user" else 2)} if go else set()
        found |= {_url_parts(value)[0 if what == "user" else 1]} | {m.group(1) for m in keyword.finditer(value)}
        return found - {""}
    return {value.strip()} - {""} if bare_name.search(name) else set()


def connection_target_changed(before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...],
                              what: str) -> list[str]:
    """Where the new revision asks for another database (`what` "database") or user ("user") than the
    revision before, by the variable's name only ("plain env DB_NAME"; a connection string holds a
    password, never shown): the variables whose own databases or users (`_asked_for`) differ, when
    both revisions' plain env was read, both ask for one, and the two sets differ (compared exactly:
    PostgreSQL folds no case in a quoted name; a variable renamed with the same value is no change)."""
    if not before or not after:
        return []
    old = {name: _asked_for(name, value, what) for name, value in before}
    new = {name: _asked_for(name, value, what) for name, value in after}
    old_all, new_all = set().union(*old.values()), set().union(*new.values())
    if not old_all or not new_all or old_all == new_all:
        return []
    return [f"plain env {name}" for name in sorted(old.keys() | new.keys())
            if old.get(name, set()) != new.get(name, set()) and (old.get(name) or new.get(name))]


def asked_for(env: tuple[tuple[str, str], ...], what: str) -> set[str]:
    """Every database (`what` "database") or user ("user") the plain env `env` asks for (`_asked_for`)."""
    return set().union(*(_asked_for(name, value, what) for name, value in env))


def asks_for(env: tuple[tuple[str, str], ...], what: str, value: str) -> bool:
    """Whether any plain env var of `env` asks for the database (`what` "database") or user ("user") `value`
    (`_asked_for`; compared exactly, as connection_target_changed)."""
    return bool(value) and any(value in _asked_for(name, v, what) for name, v in env)


def target_brought(before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...], what: str,
                   value: str) -> list[str]:
    """The variables of the new revision that ask for the database (`what` "database") or user ("user")
    `value` a refusal names, by name ("plain env DB_USER"), when none of the revision before's asks for it
    and some asks for another (its plain env read; compared exactly, as connection_target_changed);
    [] otherwise: a name both revisions give, or one neither gives, is not shown to be the deploy's."""
    if not before or not after or not value:
        return []
    old = set().union(*(_asked_for(name, v, what) for name, v in before))
    if not old or value in old:
        return []
    return [f"plain env {name}" for name, v in after if value in _asked_for(name, v, what)]


# Where a connection's port is set: a plain env var under a name that says it holds the database's port
# ("DB_PORT", "PGPORT": libpq's own, PostgreSQL docs 34.15 "Environment Variables"; "MYSQL_PORT"), or a
# connection string's own part: a URL's port (RFC 3986 authority; each host's of libpq's multi-host
# "postgresql://h1:p1,h2:p2/db", 34.1.1.2 "Connection URIs"), libpq's and ADO.NET's `port=`, ADO.NET's
# "Server=tcp:H,P" (SqlConnection.ConnectionString, learn.microsoft.com) and Go MySQL's `tcp(H:P)`
# (go-sql-driver/mysql README, "DSN"). A database URL that names a host and no port connects at its
# scheme's default (PostgreSQL's 5432, 34.1.2 "port"; MySQL's 3306). A value under any other name is no
# port, whatever digits it holds (a WORKERS=6432 is not where anything connects).
_DATABASE_PORT_NAME = re.compile(r"^(?:PGPORT|(?:\w*_)?(?:DB|DATABASE|PG|POSTGRES(?:QL)?|MYSQL|MARIADB|SQL)_?PORT)$",
                                 re.IGNORECASE)
_KEYWORD_PORT = re.compile(r"(?:^|[\s;?&])port\s*=\s*'?(\d{1,5})\b", re.IGNORECASE)
_SERVER_PORT = re.compile(r"(?:^|;)\s*(?:server|data source)\s*=\s*(?:tcp:)?[^;,]+,\s*(\d{1,5})\b", re.IGNORECASE)
_GO_MYSQL_PORT = re.compile(r"@tcp6?\([^)]*?:(\d{1,5})\)", re.IGNORECASE)
_DEFAULT_PORT = (("postgres", "5432"), ("mysql", "3306"), ("mariadb", "3306"))


def _url_ports(value: str) -> set[str]:
    """A database URL's ports, each host's own, its scheme's default for a host that names none."""
    if "://" not in value:
        return set()
    scheme, _, rest = value.strip().lower().removeprefix("jdbc:").partition("://")
    hosts = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    default = next((port for prefix, port in _DEFAULT_PORT if scheme.startswith(prefix)), "")
    ports = set()
    for host in filter(None, hosts.split(",")):
        _, colon, port = host.rpartition(":")
        ports.add(port if colon and port.isdigit() else default)
    return ports - {""}


# Which database engine a variable speaks of, where its name or its scheme says (a port under MYSQL_PORT is
# MySQL's, "postgresql+psycopg://" PostgreSQL's, Go MySQL's tcp(H:P) MySQL's); "" where neither does (DB_PORT,
# libpq's and ADO.NET's keyword forms, which PostgreSQL and SQL Server share the words of).
_NAMED_ENGINES = (("postgres", re.compile(r"(?:^|_)(?:PG|POSTGRES)", re.IGNORECASE)),
                  ("mysql", re.compile(r"(?:^|_)(?:MYSQL|MARIADB)", re.IGNORECASE)))
_SCHEME_ENGINES = (("postgres", re.compile(r"^\s*(?:jdbc:)?postgres", re.IGNORECASE)),
                   ("mysql", re.compile(r"^\s*(?:jdbc:)?(?:mysql|mariadb)|@tcp6?\(", re.IGNORECASE)))


def _engine_of(name: str, value: str) -> str:
    """The engine (`_NAMED_ENGINES`, `_SCHEME_ENGINES`) one variable's value, else its name, speaks of, or ""."""
    for engines, text in ((_SCHEME_ENGINES, value), (_NAMED_ENGINES, name)):
        found = [engine for engine, pattern in engines if pattern.search(text)]
        if len(found) == 1:
            return found[0]
    return ""


def _database_ports(name: str, value: str, engine: str = "") -> set[str]:
    """The ports one plain env var sets for the database's connection: a connection string's own
    (`_database_setting`) or a bare number under a port's name (`_DATABASE_PORT_NAME`); none from a
    variable of an engine other than `engine` (the one the failing lines speak of, "" for unknown)."""
    if engine and _engine_of(name, value) not in ("", engine):
        return set()
    if _database_setting(value):
        found = _url_ports(value)
        for pattern in (_KEYWORD_PORT, _SERVER_PORT, _GO_MYSQL_PORT):
            found |= {m.group(1) for m in pattern.finditer(value)}
        return {p.lstrip("0") or "0" for p in found}
    value = value.strip()
    return {value.lstrip("0") or "0"} if value.isdigit() and _database_variable(_DATABASE_PORT_NAME, name, value) else set()


def database_ports_brought(before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...],
                           engine: str = "") -> tuple[set[str], list[str]]:
    """The ports the deploy brought to the database's connection settings, and the variables that
    brought them by name ("plain env DB_PORT"; a connection string holds a password, never shown):
    each port a variable of the new revision sets (`_database_ports`) where the same variable of the
    revision before sets other ports, and no database setting of the revision before sets at all.
    Compared by the variable's name: a port only moved from DB_PORT into DATABASE_URL is no change, and
    a number under another name is no port. (set(), []) when either plain env was not read, or the
    revision before sets no database port (the one it used, a driver's default, is not shown). Given the
    `engine` the failing lines speak of ("postgres", "mysql"), a variable that names another is left out:
    a MYSQL_PORT moved says nothing of a PostgreSQL driver's refusals."""
    if not before or not after:
        return set(), []
    old = {name: _database_ports(name, value, engine) for name, value in before}
    new = {name: _database_ports(name, value, engine) for name, value in after}
    old_all = set().union(*old.values())
    if not old_all:
        return set(), []
    moved = {name: ports - old_all for name, ports in new.items() if ports != old.get(name, set()) and ports - old_all}
    return set().union(*moved.values()) if moved else set(), [f"plain env {name}" for name in sorted(moved)]


# Where a dependency is reached, host and port together, as a revision's plain env pairs them: a connection
# string's own host:port (a URL's each host, its scheme's default for one that names none, RFC 3986 authority
# and PostgreSQL docs 34.1.1.2 "Connection URIs"; libpq's `host=`/`port=`, 34.1.2, each host with the port
# in the same place of its list or the one port for all; Go MySQL's `tcp(H:P)`), a bare "H:P" value
# (REDIS_ADDR=10.0.0.7:6379), or two variables that differ only in their last word, one a host's
# (DB_HOST, REDIS_HOST, PGHOST: libpq's own PGHOST/PGPORT, 34.15) and one a port's (DB_PORT, REDIS_PORT,
# PGPORT). A host and a port in variables of different stems are not paired: REDIS_PORT is not DB_HOST's.
_HOST_WORD = re.compile(r"(HOST|HOSTNAME|ADDR|ADDRESS|SERVER|ENDPOINT)$", re.IGNORECASE)
_PORT_WORD = re.compile(r"PORT$", re.IGNORECASE)
_BARE_ENDPOINT = re.compile(r"^\s*([\w.-]+):(\d{1,5})\s*$")
_KEYWORD_PORT_LIST = re.compile(r"(?:^|[\s;?&])port\s*=\s*'?(\d{1,5}(?:,\d{1,5})*)", re.IGNORECASE)


def _stem(name: str, word: "re.Pattern[str]") -> str | None:
    """The name without its last word (`word`), upper case ("DB_" of DB_HOST, "PG" of PGPORT), or None."""
    found = word.search(name)
    return name[:found.start()].upper() if found else None


def _string_endpoints(value: str) -> set[tuple[str, str]]:
    """The (host, port) pairs one connection string names (`_database_setting`'s shapes)."""
    pairs: set[tuple[str, str]] = set()
    if "://" in value:
        scheme, _, rest = value.strip().lower().removeprefix("jdbc:").partition("://")
        default = next((port for prefix, port in _DEFAULT_PORT if scheme.startswith(prefix)), "")
        for host in filter(None, rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2].split(",")):
            name, colon, port = host.rpartition(":")
            pairs.add((_bare(host), port if colon and port.isdigit() else default))
    for found in _GO_MYSQL.finditer(value):
        name, _, port = found.group(1).rpartition(":")
        pairs.add((_bare(name), port))
    keyword_host, keyword_port = _KEYWORD_HOST.search(value), _KEYWORD_PORT_LIST.search(value)
    if keyword_host and keyword_port:
        hosts, ports = keyword_host.group(1).split(","), keyword_port.group(1).split(",")
        pairs |= {(_bare(h), ports[i] if len(ports) == len(hosts) else ports[0]) for i, h in enumerate(hosts)}
    return {(h, p.lstrip("0") or "0") for h, p in pairs if h and p and not h.startswith("/")}



def endpoints(env: tuple[tuple[str, str], ...]) -> set[tuple[str, str]]:
    """The (host, port) pairs a revision's plain env gives (host lower case, no trailing dot; port as
    digits): see `_HOST_WORD` above. Values are compared, never shown."""
    pairs: set[tuple[str, str]] = set()
    hosts: dict[str, set[str]] = {}
    ports: dict[str, set[str]] = {}
    for name, value in env:
        pairs |= _string_endpoints(value)
        bare = _BARE_ENDPOINT.match(value)
        if bare and not bare.group(1).isdigit():
            pairs.add((_bare(bare.group(1)), bare.group(2).lstrip("0") or "0"))
        host_stem, port_stem = _stem(name, _HOST_WORD), _stem(name, _PORT_WORD)
        if host_stem is not None and not bare and _bare(value):
            hosts.setdefault(host_stem, set()).add(_bare(value))
        if port_stem is not None and value.strip().isdigit():
            ports.setdefault(port_stem, set()).add(value.strip().lstrip("0") or "0")
    for stem in hosts.keys() & ports.keys():
        pairs |= {(h, p) for h in hosts[stem] for p in ports[stem]}
    return pairs


def endpoint_brought(host: str, port: str, new: tuple[tuple[str, str], ...],
                     before: tuple[tuple[str, str], ...]) -> bool:
    """Whether the deploy moved `host`'s port to `port`: the new revision's plain env pairs them
    (`endpoints`), the revision before's does not and pairs the same host with another port (so its
    port was read: a driver's default, left unset, is not shown). The host itself unchanged; a host
    only the new revision names is `deploy_brought`'s."""
    host, port = _bare(host), port.lstrip("0") or "0"
    if not before or (host, port) not in endpoints(new):
        return False
    old = endpoints(before)
    return (host, port) not in old and any(h == host for h, _ in old)
