"""Which of a Cloud SQL instance's IP addresses a revision's connector asks for, read from its plain env, and which
one a refusal says the instance lacks.

The Cloud SQL connectors and the Auth Proxy dial the instance's public IP unless told otherwise: the Auth Proxy
v2's `--private-ip` and `--psc` flags ("Cloud SQL Auth Proxy", Cloud SQL docs: "--private-ip ... Connect to the
private ip address for all instances"), the Go connector's `cloudsqlconn.WithPrivateIP()` and the Python
connector's `ip_type=IPTypes.PRIVATE` or `ip_type="private"` (their READMEs, "Specifying IP Address Type"), the
Java connector's `ipTypes` property ("PUBLIC,PRIVATE"; cloud-sql-jdbc-socket-factory docs, "Specifying IP
Types"). Applications pass the choice through a variable of their own naming (DB_IP_TYPE, or PRIVATE_IP as Google's
samples do: GoogleCloudPlatform/python-docs-samples cloud-sql/postgres/sqlalchemy/connect_connector.py reads
`IPTypes.PRIVATE if os.environ.get("PRIVATE_IP") else IPTypes.PUBLIC`). A plain value comes back exactly with the
revision that holds it (Revision.containers[].env[].value, Cloud Run Admin API v2). Told by name only, as
tls_settings tells its own; a variable that holds an address (DB_PRIVATE_IP=10.40.0.3, NAT_PUBLIC_IP, a PSC
endpoint's) is where to dial, not a choice of type, and is not read as one.
"""
from __future__ import annotations

import re

from shared.diagnosis.evidence import Revision
from shared.diagnosis.secret_refs import held_differently, secrets_that_may_name_hosts
from shared.diagnosis.tls_settings import setting_name

PUBLIC, PRIVATE, PSC = "PUBLIC", "PRIVATE", "PSC"

# A variable named for the type choice itself: ending in IP_TYPE or IP_TYPES (DB_IP_TYPE, CLOUD_SQL_IPTYPES), or a
# switch for one type (PRIVATE_IP, USE_PRIVATE_IP, USE_PSC; never ZIP_TYPE, SKIP_TYPES nor PSC_ENDPOINT).
_TYPE_NAME = re.compile(r"(?:^|_)IP_?TYPES?$", re.IGNORECASE)
_SWITCH_NAME = re.compile(r"(?:^|_)(PRIVATE_?IP|PUBLIC_?IP|PSC)$", re.IGNORECASE)
# A value that is a choice of type, never an address: the type's words (the Python connector's IPTypes values,
# "PRIMARY" its public one: cloud-sql-python-connector google/cloud/sql/connector/enums.py), or a switch's truth.
_CHOICE = re.compile(r"^(?:(?:iptypes\.)?(?:public|primary|private|psc)(?:\s*,\s*|$))+$"
                     r"|^(?:true|false|yes|no|on|off|1|0)?$", re.IGNORECASE)
_TRUE = frozenset({"true", "yes", "on", "1"})
# The same choice inside a value: the Auth Proxy's flags in a command line kept in the env (v2's `--private-ip`,
# `--psc`, `--auto-ip`; v1's `-ip_address_types=PRIVATE`, which Go's flag package also takes with two dashes), a
# connection string's `ipTypes=` (the Java connector's property) or `ip_type=`, or a connector's options as JSON
# ({"ip_type": "private"}, the Python connector's keyword argument). v2's flags are booleans (cobra/pflag): set by
# their name alone or by a value after "=" (`--private-ip=false` asks for no private IP); a word after a space is
# never a boolean flag's value (spf13/pflag README, "Command line flag syntax": "--flag x  // only on flags without
# a default value"), so `--private-ip false` is the flag set and a positional "false".
_IP_PARAM = re.compile(r"(--private-ip|--psc|--auto-ip)(?:=(\w*))?(?![\w-])|(?:^|[\s?&;{,])\"?-{0,2}(iptypes|ip_type|"
                       r"ip_types|ip_address_types)\"?\s*[=:]\s*\"?([^\s&;\",}]*)", re.IGNORECASE)
_FLAG_TYPE = {"--private-ip": PRIVATE, "--psc": PSC}
# The values that set a boolean flag on: pflag's boolValue.Set is strconv.ParseBool ("1", "t", "true" in any of
# its cases); "set" is the flag named alone.
_FLAG_ON = frozenset({"set", "1", "t", "true"})
_SWITCH_TYPE = {"privateip": PRIVATE, "publicip": PUBLIC, "psc": PSC}


def _settings(env: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Each IP-type choice the plain env holds, by where it is held, with its value."""
    held: dict[str, str] = {}
    for name, value in env:
        if (_TYPE_NAME.search(name) or _SWITCH_NAME.search(name)) and _CHOICE.match(value.strip()):
            held[f"plain env {name}"] = value.strip().lower()
        for flag, flag_value, key, setting in _IP_PARAM.findall(value):
            if flag:
                held[f"{flag.lower()} in the plain env {name}"] = flag_value.lower() or "set"
            else:
                held[f"{key.lower()} in the plain env {name}"] = setting.lower()
    return held


def ip_type_changed(before: Revision, after: Revision) -> list[str]:
    """Where `after` holds the IP type its connector asks for differently from `before` (changed, added or removed),
    by name only; [] when none, or when either plain env was not read."""
    if not before.plain_env or not after.plain_env:
        return []
    return held_differently(before, after, _settings)


def _type_of(where: str, value: str) -> str | None:
    """The IP type one setting asks for; None when it does not say (a list of more than one type, the Auth Proxy's
    --auto-ip, a flag set false, a switch whose falsy words the application may read either way)."""
    key = setting_name(where)
    if key in _FLAG_TYPE:
        return _FLAG_TYPE[key] if value in _FLAG_ON else None
    switch = _SWITCH_NAME.search(key)
    if switch and not _TYPE_NAME.search(key):
        return _SWITCH_TYPE[switch.group(1).replace("_", "").lower()] if value in _TRUE else None
    types = {t.strip().removeprefix("iptypes.") for t in value.split(",")} - {""}
    return {"public": PUBLIC, "primary": PUBLIC, "private": PRIVATE, "psc": PSC}.get(types.pop()) \
        if len(types) == 1 else None


# The Auth Proxy's command line kept in the env, told by the proxy's own words, never by how many options a value
# holds (GUNICORN_CMD_ARGS, NODE_OPTIONS and JAVA_TOOL_OPTIONS hold several `--` options of other programs):
# - v2 (GoogleCloudPlatform/cloud-sql-proxy README and cmd/root.go; Cloud SQL docs "Cloud SQL Auth Proxy"): a
#   whole command line, every word of it read: the binary `cloud-sql-proxy` (or none, its arguments alone, with at
#   least one flag), at least one instance connection name (PROJECT:REGION:INSTANCE) as a positional argument, and
#   only the v2 flags below with their values. Without --private-ip, --psc or --auto-ip it dials the public IP
#   ("--private-ip ... Connect to the private ip address for all instances"). The type may be chosen where the
#   env does not show it: a connection name's own query parameters (`p:r:i?private-ip=true`, cmd/root.go), a
#   config file (`--config-file`, TOML, YAML or JSON holding the same flags: README "Config file"), the proxy's
#   environment (README "Environment variables": every flag as CSQL_PROXY_<FLAG>, CSQL_PROXY_AUTO_IP among them),
#   a flag the set below does not know, a shorthand, or a word that is no flag's value nor a connection name. The
#   binary named without connection names (an image name, a repository URL, `--config-file` alone) is no command
#   line either: its arguments are elsewhere (containers[].args, not read). Any of these says no type.
# - v1 (cloudsql-proxy v1 README, cmd/cloud_sql_proxy): the binary `cloud_sql_proxy` or its `-instances=` flag. Its
#   `-ip_address_types` defaults to "PUBLIC,PRIVATE", a preference list that names no one type, so a v1 line
#   without that flag says none.
_V2_FLAGS = frozenset({
    "address", "port", "auto-iam-authn", "credentials-file", "json-credentials", "gcloud-auth", "token", "login-token",
    "impersonate-service-account", "max-connections", "max-sigterm-delay", "min-sigterm-delay", "unix-socket",
    "unix-socket-path", "private-ip", "psc", "auto-ip", "structured-logs", "health-check", "http-address",
    "http-port", "admin-port", "prometheus", "prometheus-namespace", "quiet", "debug-logs", "debug", "lazy-refresh",
    "run-connection-test", "sqladmin-api-endpoint", "quota-project", "telemetry-project", "telemetry-prefix",
    "telemetry-sample-rate", "disable-metrics", "disable-traces", "exit-zero-on-sigterm", "fuse", "fuse-tmp-dir",
    "user-agent", "universe-domain"})
_V2_BINARY = re.compile(r"(?:^|[\s/])cloud-sql-proxy(?:\s|$)")
_PROXY_ENV = re.compile(r"^CSQL_PROXY_", re.IGNORECASE)
_V1_LINE = re.compile(r"(?:^|[\s/])cloud_sql_proxy(?:\s|$)|(?:^|\s)--?instances=")
_CONNECTION_NAME = re.compile(r"^[a-z][\w.-]*(?::[\w.-]+){2}(\?\S*)?$", re.IGNORECASE)


def _proxy_line_public(value: str) -> bool:
    """Whether `value` is the Auth Proxy v2's whole command line, which asks for the public IP by its default (read
    only where the env holds no type choice, `_settings`): the words after its binary, or the value's words where
    it names no binary but holds a flag, are connection names with no parameters of their own (at least one), v2's
    flags and a value after a flag given without "="."""
    if _V1_LINE.search(value):
        return False
    binary = list(_V2_BINARY.finditer(value))
    words = [word.strip("\"'") for word in (value[binary[-1].end():] if binary else value).split()]
    if not binary and not any(word.startswith("--") for word in words):
        return False
    names, valued = 0, False
    for word in words:
        name = _CONNECTION_NAME.match(word)
        if name and not name.group(1):
            names += 1
        elif word.startswith("--") and word[2:].split("=")[0].lower() in _V2_FLAGS:
            valued = "=" not in word
            continue
        elif not (valued and not word.startswith("-")):
            return False
        valued = False
    return names > 0


def _asked(revision: Revision, absent_is_public: bool) -> str | None:
    """The one IP type `revision`'s connector asks for by its plain env; None when unknown: its env not read, a
    secret read that may hold the choice (a DSN, a config: secret_refs.secrets_that_may_name_hosts, never read),
    settings that disagree, or no choice held (the code's own, or a default the application sets) unless the
    env holds the Auth Proxy v2's command line (`_proxy_line_public`) or `absent_is_public`."""
    if not revision.plain_env or secrets_that_may_name_hosts(revision):
        return None
    held = _settings(revision.plain_env)
    if not held:
        proxy = (not any(_PROXY_ENV.match(name) for name, _ in revision.plain_env)
                 and any(_proxy_line_public(value) for _, value in revision.plain_env))
        return PUBLIC if proxy or absent_is_public else None
    types = {_type_of(where, value) for where, value in held.items()}
    return types.pop() if len(types) == 1 else None


# A private-IP switch that points at the database: the bare name (PRIVATE_IP, as Google's samples read it,
# USE_PRIVATE_IP) or one under a database's prefix (DB_USE_PRIVATE_IP, CLOUD_SQL_PRIVATE_IP, PG_PRIVATE_IP). Another
# system's switch (REDIS_USE_PRIVATE_IP for Memorystore, ES_PRIVATE_IP) says nothing of the database's connector.
_DATABASE_SWITCH = re.compile(r"^(?:(?:DB|DATABASE|SQL|CLOUDSQL|CLOUD_SQL|POSTGRES|POSTGRESQL|PG|MYSQL)_)?(?:USE_)?"
                              r"PRIVATE_?IP$", re.IGNORECASE)


def _private_switch_alone(revision: Revision) -> bool:
    """Whether the one IP-type choice `revision`'s plain env holds is a boolean switch for the database's private
    IP, set on (PRIVATE_IP=true, USE_PRIVATE_IP, DB_USE_PRIVATE_IP, private_ip: `_DATABASE_SWITCH`)."""
    held = _settings(revision.plain_env) if revision.plain_env else {}
    if len(held) != 1:
        return False
    (where, value), = held.items()
    key = setting_name(where)
    return where == f"plain env {key}" and _type_of(where, value) == PRIVATE and bool(_DATABASE_SWITCH.match(key))


def ip_types_asked(before: Revision, after: Revision) -> tuple[str | None, str | None]:
    """The IP type each of two revisions asks for (`_asked`). A revision before that holds no choice while the one
    after turns a private-IP switch on, and holds no other choice, asks for the connector's own default: a switch's
    off position is not telling the connector PRIVATE, and every connector's default is public first (Go, Python,
    Node.js connectors and the Auth Proxy v2: PUBLIC; the Java connector and the Auth Proxy v1: "PUBLIC,PRIVATE",
    public first), never the PRIVATE alone the refusal names. Google's samples read PRIVATE_IP's absence so
    (connect_connector.py, above). A revision after that holds the switch beside another choice (DB_IP_TYPE too), or
    a switch whose off words the application may read either way, does not settle which setting its code reads:
    the revision before stays unknown and competes."""
    return _asked(before, _private_switch_alone(after)), _asked(after, False)


# The type a refusal says the instance lacks: the Go connector's and the Auth Proxy's 'does not have IP of type
# "PRIVATE"', the Java and Python connectors' "matching preferences (PRIVATE)" / "matching preference: PRIMARY",
# the Node.js connector's "private Ip address not found" (log_signals' NO_IP_OF_TYPE texts).
_REFUSED_TYPE = re.compile(r'IP of type "(\w+)"|matching preferences? ?[(:] ?(\w+)\)?(?:$|[^,\w])'
                           r"|Cannot connect to instance, (public|private|PSC) (?:Ip )?address not found",
                           re.IGNORECASE)


def refused_ip_type(text: str) -> str | None:
    """The one IP type a refusal says the instance lacks; None when it names none or more than one."""
    found = _REFUSED_TYPE.search(text)
    if found is None:
        return None
    word = next(group for group in found.groups() if group).upper()
    return PUBLIC if word == "PRIMARY" else word
