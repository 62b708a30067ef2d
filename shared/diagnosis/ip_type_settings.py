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
# The same choice inside a value: the Auth Proxy's flags in a command line kept in the env, a connection string's
# `ipTypes=` (the Java connector's property) or `ip_type=`, or a connector's options as JSON ({"ip_type": "private"},
# the Python connector's keyword argument).
_IP_PARAM = re.compile(r"(--private-ip|--psc|--auto-ip)\b|(?:^|[\s?&;{,])\"?(iptypes|ip_type|ip_types)\"?\s*[=:]\s*"
                       r"\"?([^\s&;\",}]*)", re.IGNORECASE)
_FLAG_TYPE = {"--private-ip": PRIVATE, "--psc": PSC}
_SWITCH_TYPE = {"privateip": PRIVATE, "publicip": PUBLIC, "psc": PSC}


def _settings(env: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Each IP-type choice the plain env holds, by where it is held, with its value."""
    held: dict[str, str] = {}
    for name, value in env:
        if (_TYPE_NAME.search(name) or _SWITCH_NAME.search(name)) and _CHOICE.match(value.strip()):
            held[f"plain env {name}"] = value.strip().lower()
        for flag, key, setting in _IP_PARAM.findall(value):
            if flag:
                held[f"{flag.lower()} in the plain env {name}"] = "set"
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
    --auto-ip, a switch whose falsy words the application may read either way)."""
    key = setting_name(where)
    if key in _FLAG_TYPE:
        return _FLAG_TYPE[key]
    switch = _SWITCH_NAME.search(key)
    if switch and not _TYPE_NAME.search(key):
        return _SWITCH_TYPE[switch.group(1).replace("_", "").lower()] if value in _TRUE else None
    types = {t.strip().removeprefix("iptypes.") for t in value.split(",")} - {""}
    return {"public": PUBLIC, "primary": PUBLIC, "private": PRIVATE, "psc": PSC}.get(types.pop()) \
        if len(types) == 1 else None


# The Auth Proxy's command line kept in the env: a flag and an instance connection name (PROJECT:REGION:INSTANCE).
# Without --private-ip, --psc or --auto-ip it dials the public IP ("Cloud SQL Auth Proxy" docs, "--private-ip").
_PROXY_LINE = re.compile(r"(?:^|\s)--[a-z]|(?:^|\s)[a-z][\w.-]*(?::[\w.-]+){2}(?:\?|\s|$)", re.IGNORECASE)


def _asked(revision: Revision, absent_is_public: bool) -> str | None:
    """The one IP type `revision`'s connector asks for by its plain env; None when unknown: its env not read, a
    secret read that may hold the choice (a DSN, a config: secret_refs.secrets_that_may_name_hosts, never read),
    settings that disagree, or no choice held (the code's own, or a default the application sets) unless the
    env holds the Auth Proxy's command line or `absent_is_public`."""
    if not revision.plain_env or secrets_that_may_name_hosts(revision):
        return None
    held = _settings(revision.plain_env)
    if not held:
        proxy = any(len(_PROXY_LINE.findall(value)) >= 2 for _, value in revision.plain_env)
        return PUBLIC if proxy or absent_is_public else None
    types = {_type_of(where, value) for where, value in held.items()}
    return types.pop() if len(types) == 1 else None


def ip_types_asked(before: Revision, after: Revision) -> tuple[str | None, str | None]:
    """The IP type each of two revisions asks for (`_asked`). A revision before that holds no choice while the one
    after sets PRIVATE_IP alone asks for PUBLIC: Google's samples read that variable's absence so."""
    samples_switch = bool(after.plain_env) and set(_settings(after.plain_env)) == {"plain env PRIVATE_IP"}
    return _asked(before, samples_switch), _asked(after, False)


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
