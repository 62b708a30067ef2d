"""What a deploy changed in the Secret Manager secrets a revision reads, and which of them may hold a
host name: pure, no I/O, names and versions only (a secret's value is never read).

Cloud Run resolves a secret exposed as an env var when an instance starts: "Environment variables are
resolved at instance startup time, so if you use this method, Google recommends that you pin the
secret to a particular version instead of using latest as the version"; a secret mounted as a volume
is fetched whenever it is read: "When reading a volume, Cloud Run always fetches the secret value from
the Secret Manager to use the value with the latest version" (Cloud Run docs, "Configure secrets for
services"). So a revision that reads a secret at "latest" gets, on every new instance, whatever
Secret Manager holds then: a rollback to it brings back its settings, not the value it served with. A
revision that pins every secret gets on a new instance the very values it served with (unless a
version was disabled or destroyed since, which its new instances then fail on: Cloud Run's "is in
DISABLED state", startup_config_failure's secret_failure signal).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from shared.diagnosis.evidence import Revision, SecretRef


def where_read(ref: SecretRef) -> str:
    """Where a revision reads the secret, in words: "env DB_PASSWORD", "volume config", or a volume's item
    "volume config file app.json"; an env var more than one container sets, with its container's name: "env
    DB_PASSWORD in container app" (SecretRef.container). (SecretRef.path: a volume with items exposes one file per item, each at
    its own version, SecretVolumeSource.items, google/cloud/run/v2/k8s_min.proto)."""
    if ref.env:
        return f"env {ref.env} in container {ref.container}" if ref.container else f"env {ref.env}"
    return f"volume {ref.volume} file {ref.path}" if ref.path else f"volume {ref.volume}"


def secret_name(revision: Revision, ref: SecretRef) -> str:
    """The secret `ref` names, in full: projects/P/secrets/S. A revision names a secret of its own project by id
    alone and another project's in full (SecretKeySelector.secret: "Format: {secret_name} if the secret is in the
    same project. projects/{project}/secrets/{secret_name} if the secret is in a different project",
    google/cloud/run/v2/k8s_min.proto; SecretVolumeSource.secret likewise), so a bare id is in the revision's own
    project (its name's, projects/P/locations/L/services/S/revisions/R), as secretmanager.version_name reads it
    for GetSecretVersion. Two secrets with one id in two projects are two secrets: compared by id alone, a
    deploy that swapped project A's db-pass for project B's read as no change. A full version name (".../
    versions/V", seen in the wild: run_references) names its secret. A bare id stays bare when the revision's
    name holds no project (a hand-built revision)."""
    return full_secret_name(revision.name, ref.secret)


def full_secret_name(revision_name: str, secret: str) -> str:
    """`secret_name` on the names alone: the secret a revision named `revision_name` (projects/P/locations/L/
    services/S/revisions/R) names `secret` by, in full (run_references reads them off the API's Revision)."""
    secret = secret.strip().rstrip("/").split("/versions/")[0]
    parts = revision_name.split("/")
    if secret.startswith("projects/") or len(parts) < 2 or parts[0] != "projects":
        return secret
    return f"projects/{parts[1]}/secrets/{secret}"


def one_secret(a: str, b: str) -> bool:
    """Whether two full secret names (`secret_name`) may be one secret: the same name, or the same secret id with
    one project written by number and the other by id ("projects/{project}" takes either in Google's resource
    names; whether a number is the other name's project is not read here, as connector_names.by_another_form
    cannot tell either). Such a pair is read as one secret, a respelling: never a change a rollback undoes (the
    password rule's rollback on "DB_PASSWORD from db-pass version 4 to projects/P/secrets/db-pass version 4"
    would restore the very version both read), and never a difference that lets a rollback through where both
    read it at latest; read as two, either errs toward an action. So is a bare id whose project is not known
    (`secret_name` of a revision named without one) and a full name with that id. Two ids, or two numbers, that
    differ are two projects."""
    if a == b:
        return True
    ours, theirs = a.split("/"), b.split("/")
    if len(ours) == 1 or len(theirs) == 1:
        return ours[-1] == theirs[-1] and len(ours) + len(theirs) == 5
    return (len(ours) == 4 and len(theirs) == 4 and ours[0] == theirs[0] == "projects" and ours[2:] == theirs[2:]
            and ours[1].isdigit() != theirs[1].isdigit())


def alike(was: list[tuple[str, str]], now: list[tuple[str, str]]) -> bool:
    """Whether two places' reads, each (full secret name, version), are the same reads in any order: as many,
    each pair `one_secret` at the same version."""
    if len(was) != len(now):
        return False
    return all(one_secret(a, b) and v == w for (a, v), (b, w) in zip(_by_id(was), _by_id(now)))


def _by_id(reads: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Sorted by secret id first, so that one secret spelt by project number on one side and by id on the
    other falls at the same place on both."""
    return sorted(reads, key=lambda r: (r[0].rsplit("/", 1)[-1], r[1], r[0]))


def _named_reads(revision: Revision, refs: tuple[SecretRef, ...]) -> list[tuple[str, str]]:
    return [(secret_name(revision, ref), ref.version) for ref in refs]


def _which(ref: SecretRef) -> str:
    return f"{ref.secret} version {ref.version or 'unset'}"


def by_where(revision: Revision) -> dict[str, tuple[SecretRef, ...]]:
    """The secrets `revision` reads, grouped by where each is read (where_read), in the revision's order
    of first reading, each group sorted by secret and version. A group holds every ref read there, never
    only the last: one env var name set in two containers (Revision.containers[].env[], a sidecar and
    the ingress container) is a place per container when run.py named them (SecretRef.container), else
    one place read from twice; a volume's items are told apart only by their paths. Sorted, so the order the API lists them in (Container.env, SecretVolumeSource.items:
    repeated fields) is no change."""
    found: dict[str, list[SecretRef]] = {}
    for ref in revision.secrets:
        found.setdefault(where_read(ref), []).append(ref)
    return {where: tuple(sorted(refs, key=lambda r: (r.secret, r.version))) for where, refs in found.items()}


def _all_which(refs: tuple[SecretRef, ...]) -> str:
    return " and ".join(_which(ref) for ref in refs)


def secrets_changed(before: Revision, after: Revision) -> list[str]:
    """The secrets `after` reads differently from `before`, in words ("env DB_PASSWORD from db-password
    version 4 to db-password version 5", "volume creds file password from db-password version 4 to
    db-password version 5", "env API_KEY now read from api-key version latest", "env DB_PASSWORD no
    longer read from db-password version 4": a plain value, or none, in its place), by where each is read
    (by_where: an env var, a volume, a volume's item by its path), every ref read there compared, in any
    order, each secret by its full name (`secret_name`: one id in two projects is two secrets, and one secret
    named by id and in full is one); [] when none."""
    old, new = by_where(before), by_where(after)
    changed = []
    for where, refs in new.items():
        was = old.get(where)
        if was is None:
            changed.append(f"{where} now read from {_all_which(refs)}")
        elif not alike(_named_reads(before, was), _named_reads(after, refs)):
            changed.append(f"{where} from {_all_which(was)} to {_all_which(refs)}")
    changed += [f"{where} no longer read from {_all_which(refs)}" for where, refs in old.items() if where not in new]
    return changed


def modes_changed(before: Revision, after: Revision) -> list[str]:
    """The secret volume files `after` exposes with another mode than `before` does, in words ("volume creds
    file password mode from 0444 to 0400"), by where each is read, for a file both expose; [] when none.
    A mode is no value: a file a non-root user can no longer read ("permission denied" as it is opened) is
    the deploy's doing and comes back with the revision (SecretRef.mode), but the password sent is not
    changed by it, so pinned_secrets_changed (the password rule's) never counts it."""
    old, new = _modes(before), _modes(after)
    return [f"{where} mode from {_octal(old[where])} to {_octal(modes)}"
            for where, modes in new.items() if where in old and old[where] != modes]


def _modes(revision: Revision) -> dict[str, tuple[int, ...]]:
    """Each secret volume file's modes (one per ref read there), by where it is read; a mode not read (0) is
    left out."""
    found: dict[str, list[int]] = {}
    for ref in revision.secrets:
        if ref.volume and ref.mode:
            found.setdefault(where_read(ref), []).append(ref.mode)
    return {where: tuple(sorted(modes)) for where, modes in found.items()}


def _octal(modes: tuple[int, ...]) -> str:
    return " and ".join(f"{mode:04o}" for mode in modes)


def pinned_secrets_changed(before: Revision, after: Revision) -> list[str]:
    """secrets_changed, when it is a change a rollback undoes: `before` reads every secret at a pinned
    version (SecretRef.pinned), so its new instances get the values it served with, and `after` reads
    another secret or version for one of its env vars, volumes or volume items (or one `before` did not
    read from a secret). [] when nothing changed, or when `before` reads any secret at "latest" or unset:
    its new instances would get what Secret Manager holds now, which a rotation around the deploy may have
    changed for both revisions (not shown either way)."""
    return secrets_changed(before, after) if all(ref.pinned for ref in before.secrets) else []


def pinned_env_changed(before: Revision, after: Revision, named: Callable[[str], bool]) -> list[str]:
    """The secret env vars whose name `named` accepts (DB_NAME, DATABASE_URL) that `after` reads from
    another secret or version than `before`, which reads each of them at a pinned version, in
    secrets_changed's words ("env DB_NAME from db-name version 3 to db-name version 4"). Only those: a
    rollback brings back the value `before` served with there (a pinned version is resolved at instance
    startup, "Configure secrets"), whatever it pins or not elsewhere. [] when `before` reads one at
    "latest" or unset (a rollback gets what Secret Manager holds now), from no secret (a plain value the
    caller compares by itself), or nothing changed."""
    return list(pinned_env_moved(before, after, named).values())


def pinned_env_moved(before: Revision, after: Revision, named: Callable[[str], bool]) -> dict[str, str]:
    """pinned_env_changed by where each is read: {"env DB_NAME": "env DB_NAME from db-name version 3 to db-name
    version 4"}."""
    old, new = by_where(before), by_where(after)
    moved = {}
    for where, refs in new.items():
        was = old.get(where)
        if (was is None or not refs[0].env or not named(refs[0].env) or not all(ref.pinned for ref in was)
                or alike(_named_reads(before, was), _named_reads(after, refs))):
            continue
        moved[where] = f"{where} from {_all_which(was)} to {_all_which(refs)}"
    return moved


def env_read_from_secrets(revision: Revision, named: Callable[[str], bool]) -> set[str]:
    """Where `revision` reads a secret into an env var whose name `named` accepts ("env DB_USER"), at any version."""
    return {where_read(ref) for ref in revision.secrets if ref.env and named(ref.env)}


# An env var's name that says its value is a credential alone (DB_PASSWORD, API_TOKEN, STRIPE_KEY,
# SESSION_SECRET, libpq's PGPASSWORD, MySQL's MYSQL_PWD): its last word. Such a value names no host to
# look up. Read from the name alone, which the revision gives it (a heuristic: an env var named
# DB_PASSWORD that holds a URL is miscounted as no host, the one way this can be wrong).
_CREDENTIAL = re.compile(r"(?:PASSWORD|PASSWD|PASSPHRASE|(?:^|_)(?:PWD|PASS|TOKEN|KEY|SECRET))$", re.IGNORECASE)


def names_a_credential(env: str) -> bool:
    """Whether an env var's name says its value is a credential alone (_CREDENTIAL: DB_PASSWORD,
    STRIPE_API_KEY), read from the name only."""
    return bool(_CREDENTIAL.search(env))


def secrets_that_may_name_hosts(revision: Revision) -> list[str]:
    """The secrets `revision` reads whose value may hold a host name, as "env NAME" / "volume NAME": every
    secret volume (a file: a config, a DSN, anything), and every secret env var whose name does not say
    it holds a credential alone (DATABASE_URL, REDIS_DSN, CONFIG). A failed lookup that names no host
    may be of a name such a secret gives."""
    return [where_read(r) for r in revision.secrets if r.volume or not _CREDENTIAL.search(r.env)]


# A credential inside a plain env value that is not named as one: a URL's or DSN's password
# (scheme://user:PASSWORD@host, RFC 3986 userinfo), libpq's keyword form (password=...), JDBC's
# query parameter (?password=... / &password=...).
_URL_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^:/@\s]*:([^@\s]*)@", re.IGNORECASE)
_KEYWORD_PASSWORD = re.compile(r"(?:^|[\s?&;])password=([^\s&;]*)", re.IGNORECASE)


def _credential_of(name: str, value: str) -> str | None:
    """The credential a plain env var holds: its whole value when its name says it is one
    (_CREDENTIAL), else the password part of a URL or DSN value; None when it holds none."""
    if _CREDENTIAL.search(name):
        return value
    found = _URL_PASSWORD.search(value) or _KEYWORD_PASSWORD.search(value)
    return found.group(1) if found else None


def plain_credentials_changed(before: Revision, after: Revision) -> list[str]:
    """The plain env vars (Revision.plain_env) whose credential `after` holds differently from
    `before`, in words and by name only ("plain env DB_PASSWORD", "password in the plain env
    DATABASE_URL"), or no longer holds ("password in the plain env DATABASE_URL (removed)": the
    password taken out of its DSN, or the variable gone); [] when none. A plain value comes back exactly
    with the revision that holds it (Cloud Run keeps it in the revision, EnvVar.value), so a credential
    the deploy changed or removed this way is restored by sending traffic back, whatever the database
    or Secret Manager hold: a revision that connects with no password is refused for its own doing as
    one that connects with another. A variable gone is told only when `after`'s plain env was read
    (() is none read), and an empty credential gone is no change. An empty password libpq reads (PGPASSWORD, or
    a URL's or DSN's) added is none either: libpq looks an empty password up in the password file as it does an
    absent one (fe-connect.c, pqConnectOptions2: `conn->pgpass == NULL || conn->pgpass[0] == '\\0'`), so a deploy
    that only added `PGPASSWORD=""` beside a password a person set under both revisions is not the change that
    broke the login. Any other credential added empty (`STRIPE_API_KEY=""`, a CI variable left undefined) is
    sent empty, and is the deploy's change; one blanked in place always is."""
    old = {name: _credential_of(name, value) for name, value in before.plain_env}
    changed = []
    for name, value in after.plain_env:
        credential = _credential_of(name, value)
        if credential is None or old.get(name) == credential or (credential == "" and _read_as_absent(name)
                                                                   and not old.get(name)):
            continue
        changed.append(_credential_named(name))
    if after.plain_env:
        held = {name for name, value in after.plain_env if _credential_of(name, value) is not None}
        changed += [f"{_credential_named(name)} (removed)" for name, credential in old.items()
                    if credential and name not in held]
    return changed


# The switch that makes a client log in with IAM database authentication (a token for the revision's service
# account in place of a password), recognised only by the names its connector gives it:
# - the Cloud SQL Auth Proxy v2's --auto-iam-authn and its shorthand -i (GoogleCloudPlatform/cloud-sql-proxy README,
#   "Automatic IAM Database Authentication"; cmd/root.go declares the flag with the shorthand "i", as issue #1754
#   reads it: UNCONFIRMED for each release), and its environment form CSQL_PROXY_AUTO_IAM_AUTHN (the same README,
#   "Configuring with Environment Variables": CSQL_PROXY_ before the flag's name);
# - the Auth Proxy v1's -enable_iam_login (GoogleCloudPlatform/cloud-sql-proxy v1 README, cmd/cloud_sql_proxy);
# - the Python connector's enable_iam_auth (cloud-sql-python-connector README, "Automatic IAM Database
#   Authentication"), the Java socket factory's enableIamAuth (cloud-sql-jdbc-socket-factory docs/jdbc.md), the Node
#   connector's authType: 'IAM' (cloud-sql-nodejs-connector README, "Automatic IAM Database Authentication"; 'PASSWORD'
#   is its other value); the Go connector's cloudsqlconn.WithIAMAuthN is an option of the code, which no env shows;
# - an application's own variable named for the switch alone (DB_IAM_AUTH, ENABLE_IAM_AUTH, CLOUD_SQL_IAM_AUTHN):
#   the whole name is a database's prefix, an enabling word and IAM_AUTH(N)/IAM_LOGIN/IAM_AUTHENTICATION, never a
#   name that only contains the words (IAM_AUTH_AUDIENCE, PUBSUB_IAM_AUTH_SCOPES).
_IAM_LOGIN_NAME = re.compile(r"^(?:CSQL_PROXY_AUTO_IAM_AUTHN|(?:(?:ENABLE|USE|AUTO)_)?(?:(?:DB|DATABASE|SQL|CLOUD_?SQL"
                             r"|PG|POSTGRES|MYSQL)_)?(?:(?:ENABLE|USE|AUTO)_)?IAM_?(?:AUTHN?|LOGIN|AUTHENTICATION))$",
                             re.IGNORECASE)
_IAM_LOGIN_FLAG = re.compile(r"(?:^|[\s?&;,{\"'])(--?auto-iam-authn|--?enable_iam_login|enable_iam_auth|enableiamauth"
                             r"|authtype)\b(?:\"?\s*[=:]\s*[\"']?(\w*))?", re.IGNORECASE)
# The v2 shorthand -i means the switch only on the Auth Proxy's own command line (`_PROXY_LINE`: its binary, or an
# instance connection name, project:region:instance, among the words): another program's -i is its own.
_IAM_SHORTHAND = re.compile(r"(?:^|\s)-i(?:=(\w+))?(?=\s|$)")
_PROXY_LINE = re.compile(r"(?:^|[\s/])cloud[-_]sql[-_]proxy(?:\s|$)|(?:^|\s)[a-z][\w.-]*:[\w.-]+:[\w.-]+(?:\s|$)",
                         re.IGNORECASE)
_ON, _OFF = frozenset({"", "true", "1", "yes", "on", "iam"}), frozenset({"false", "0", "no", "off", "password"})
ON, OFF = "on", "off"
# A variable of another name with IAM among its words (DB_IAM_AUTH_ENABLED, CLOUD_SQL_USE_IAM, useIamLogin) holding a
# boolean may be the switch under a name no connector documents: it cannot say ON or OFF, only cast doubt.
_NAME_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_BOOLEAN = frozenset({"true", "1", "yes", "on", "false", "0", "no", "off"})
# A Cloud SQL Auth Proxy container (v2's gcr.io/cloud-sql-connectors/cloud-sql-proxy, v1's
# gcr.io/cloudsql-docker/gce-proxy: GoogleCloudPlatform/cloud-sql-proxy README, "Container images"): its
# --auto-iam-authn is set in its args, which a revision's plain env does not show (shared/gcp/run.py `_plain_env`).
_PROXY_IMAGE = re.compile(r"cloud[-_]?sql[-_]proxy|/gce-proxy[:@]|/gce-proxy$", re.IGNORECASE)


def _state(value: str) -> str | None:
    """A switch's value read as ON, OFF, or None (a value of another meaning: a template, a typo)."""
    value = value.strip().lower()
    return ON if value in _ON else OFF if value in _OFF else None


def _iam_login_settings(env: tuple[tuple[str, str], ...]) -> dict[str, str | None]:
    """Each IAM database authentication switch the plain env holds, by where it is held ("plain env DB_IAM_AUTH",
    "--auto-iam-authn in the plain env PROXY_ARGS"), read as ON, OFF or None (`_state`; a bare flag is ON)."""
    held: dict[str, str | None] = {}
    for name, value in env:
        if _IAM_LOGIN_NAME.match(name):
            held[f"plain env {name}"] = _state(value)
        for flag, setting in _IAM_LOGIN_FLAG.findall(value):
            flag = flag.lower().lstrip("-")
            if flag != "authtype" or setting:
                held[f"{flag} in the plain env {name}"] = _state(setting)
        if _PROXY_LINE.search(value):
            for setting in _IAM_SHORTHAND.findall(value):
                held[f"auto-iam-authn in the plain env {name}"] = _state(setting)
    return held


def iam_login_asked(revision: Revision) -> str | None:
    """Whether `revision` switches IAM database authentication ON or OFF by its plain env, wherever it holds the
    switch (a flag, a parameter, a variable: one meaning however spelt); None when unknown: its env not read, a switch
    of another value, two switches that disagree, or none held beside a secret that may hold one (a DSN, a config
    file: `secrets_that_may_name_hosts`; its value is never read). None held and no such secret is OFF: each
    connector's default is a password login (the READMEs above); a switch in the code (Go's WithIAMAuthN) is not
    shown, so what this reads is checked against the refusal's own words before it is trusted. Unknown too beside a
    boolean variable with IAM in its name that no connector documents (`_iam_named_doubts`), and OFF is unknown in a
    revision running an Auth Proxy container (`_PROXY_IMAGE`), whose args may hold --auto-iam-authn."""
    if not revision.plain_env:
        return None
    states = set(_iam_login_settings(revision.plain_env).values())
    if not states:
        states = {None} if secrets_that_may_name_hosts(revision) else {OFF}
    states |= _iam_named_doubts(revision.plain_env)
    reading = states.pop() if len(states) == 1 else None
    return None if reading == OFF and any(_PROXY_IMAGE.search(image) for image in revision.images) else reading


def _iam_named_doubts(env: tuple[tuple[str, str], ...]) -> set[str | None]:
    """For a boolean variable of no known switch name with IAM among its words (`_NAME_WORDS`): {None}, the reading
    being unknown beside it (a renamed switch still on must never read as OFF); else set()."""
    return {None for name, value in env if not _IAM_LOGIN_NAME.match(name) and value.strip().lower() in _BOOLEAN
            and "iam" in (word.lower() for word in _NAME_WORDS.findall(name))}


def iam_login_changed(before: Revision, after: Revision) -> list[str]:
    """Where `after`'s plain env switches IAM database authentication differently from `before`'s, by name only,
    when the two revisions' readings (`iam_login_asked`) are both known and differ; [] otherwise (the same switch in
    other words, `--auto-iam-authn` for `-i`, `true` for `1`; an env not read; a secret that may hold the switch)."""
    old, new = iam_login_asked(before), iam_login_asked(after)
    if old is None or new is None or old == new:
        return []
    held = held_differently(before, after, _iam_login_settings)
    return held or [f"IAM database authentication {new} (moved)"]


def held_differently(before: Revision, after: Revision,
                     settings: Callable[[tuple[tuple[str, str], ...]], Mapping[str, str | None]]) -> list[str]:
    """Where `after`'s plain env holds a setting (`settings`, by where it is held) differently from `before`'s
    (changed, added or removed). A setting held in an env var either revision reads from a secret is left out: one
    that moved between a secret and the plain env (DB_IP_TYPE from a secret before, DB_IP_TYPE=PRIVATE plain after)
    may hold the very value it held, which is never read (SecretRef)."""
    old, new = settings(before.plain_env), settings(after.plain_env)
    moved = tuple(f"plain env {ref.env}" for ref in before.secrets + after.secrets if ref.env)
    return [where + ("" if where in new else " (removed)") + ("" if where in old else " (added)")
            for where in sorted(old.keys() | new.keys())
            if old.get(where) != new.get(where) and not where.endswith(moved)]


def _read_as_absent(name: str) -> bool:
    """Whether an empty credential in `name`'s value is libpq's, which reads it as none: PGPASSWORD (libpq's
    "Environment Variables" page), or a password inside a URL or DSN value (its own connection string)."""
    return name.upper() == "PGPASSWORD" or not _CREDENTIAL.search(name)


def _credential_named(name: str) -> str:
    """A plain env var's credential in words, by its name only (never its value)."""
    return f"plain env {name}" if _CREDENTIAL.search(name) else f"password in the plain env {name}"
