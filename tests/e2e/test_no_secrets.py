"""Drill: no secret, token or credential ever appears in what Runwarden writes.

One of each credential shape Runwarden redacts (shared/redaction.py `SHAPES`) is planted where a careless
deployment or a person puts it: the service's revisions carry plain environment values (a password, an
OAuth access token, a Google API key, a DSN with its password) that the diagnosis reads for the hosts they
name; the application's log line that the diagnosis quotes as evidence names its DSN, password and all;
the policy's documentation holds a runbook with `Authorization:` headers, a key and a DSN; a command and a
notification Runwarden rejects carry the same in their fields, and are kept as they arrived; a Google API
refuses the write with a message quoting all of them, as an INVALID_ARGUMENT may quote what it was sent,
and the `failed` outcome quotes the API's message. After the
alert is handled end to end (Pub/Sub push -> functions-framework -> stand-ins and emulators), everything
captured is scanned: the functions' whole stdout (the timeline, and anything else printed), every outcome
published, and what the log agent forwarded to Logging.
"""
from __future__ import annotations

import json
import os
import queue
import re
import secrets
import string
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import pytest
import yaml

from sandbox.emulators import EmulatorMissing
from sandbox.stack import Sandbox
from shared.outcomes import SHAPES

pytestmark = [pytest.mark.e2e, pytest.mark.emulator]
ROOT = Path(__file__).resolve().parents[2]
# The scan reads the product's own list of shapes: a shape added there is scanned for here.
CREDENTIAL_SHAPES = re.compile("|".join(pattern for _, pattern in SHAPES), re.DOTALL)
# Two incidents: a deploy that mistyped its database's host, rolled back (applied: the timeline's every
# step), and a database refusing unencrypted connections, escalated with the application's error quoted,
# its first 160 characters (shared/diagnosis/rules/database_unreachable.py): each log line names its DSN.
# Third, the rollback refused by Cloud Run with a message quoting credentials (failed: the reason quotes
# the API's message, which shared/errors.py redacts where the failure is made).
SCENARIOS = {"db_host_typo_after_deploy_psycopg2.yaml": "applied",
             "cloudsql_ssl_enforced_busy_connector.yaml": "escalated"}
CASES = [(source, handled, False) for source, handled in sorted(SCENARIOS.items())] + [
    ("db_host_typo_after_deploy_psycopg2.yaml", "failed", True)]
# How the refusal begins: the part of the API's message that must reach the reason, redacted after it.
REFUSAL = "Revision template is invalid: the value sent"


def _planted() -> dict[str, str]:
    """One fresh credential of each shape, by shape name: what must appear nowhere Runwarden writes."""
    return {"token": "ya29." + secrets.token_urlsafe(24),
            "authorization": secrets.token_hex(16),               # after "authorization: basic"
            "bearer": secrets.token_urlsafe(18),                  # after "Bearer" and after "authorization: bearer"
            "api_key": "AIza" + secrets.token_urlsafe(27)[:35],
            "url_password": "pw" + secrets.token_hex(12),
            "private_key": secrets.token_hex(24),
            "host_userinfo": "pw" + secrets.token_hex(10),       # a URL password's tail read as a host name
            "jwt": ".".join("eyJ" + secrets.token_urlsafe(12) for _ in range(3)),   # an ID token (RFC 7519)
            "secret_field": "pw" + secrets.token_hex(10),        # after a JDBC URL's password=, PGPASSWORD=, a Pwd=
            "statement_password": "pw" + secrets.token_hex(10),  # a logged IDENTIFIED BY '...'
            "cookie": "sid" + secrets.token_hex(10),             # a Cookie header's session
            "option_password": "pw" + secrets.token_hex(10),     # mysql's -pPASS, a --db-password's value
            "dsn_password": "pw" + secrets.token_hex(10),        # a Go MySQL DSN's user:PASS@tcp(...)
            "webhook": "Wh" + secrets.token_hex(12),             # a Slack webhook URL's token
            "vendor_token": "1//0" + secrets.token_urlsafe(30),  # a Google OAuth refresh token
            "secret_payload": "pw" + secrets.token_hex(10),      # a printed AccessSecretVersionResponse's data
            "env_value": "pw" + secrets.token_hex(10),           # a Cloud Run EnvVar's value under a secret's name
            "rails_block": "Rb" + secrets.token_hex(15),         # a bare primary_key: under active_record_encryption:
            "key_pair": "W" + "".join(secrets.choice(string.ascii_letters + string.digits + "/+") for _ in range(39))}
#                                                               (an AWS secret access key beside its AKIA... ID)


# A password of letters alone, as a person sets one, before a driver's sentence (`password: ... was rejected`): the
# sentence after it is no reason to keep it. Fresh on each run; a case change inside it, as such passwords have.
LETTERS = "Pw" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(12))



def _word(first: str = "") -> str:
    return first + "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))


# Values a shape reads only by what names them, in the forms a person writes them: under a key named for what it is
# (`ENCRYPTION_KEY`, `MASTER_KEY`, a key file's `private_key_id`), a password of words with spaces, one after a colon
# with no space, one under a name joined to `-pass`, a token's word before a finite verb, a passphrase opening with a
# word that looks like a verb, digits after a password's name, Rails' encryption key, a long option's value in a
# container's args, mysql's `-p VALUE`, a passphrase opening as a driver's message does, a password in a Go error
# chain; and a pause's reason holding one. Fresh on each run.
SPOKEN = {"encryption_key": _word("Ek"), "master_key": _word("Mk"), "private_key_id": secrets.token_hex(20),
          "spaced": _word(), "joined": _word(), "no_space": _word(), "hyphen_pass": _word(), "token_word": _word("T"),
          "reason": _word("Rs"), "verb_first": _word("Vb") + "9", "digits": str(secrets.randbelow(900_000) + 100_000),
          "rails_key": _word("Rk"), "long_option": _word("Lo"), "mysql_spaced": _word("My") + "!", "opener": _word("Op"),
          "chained": _word("Ch")}


def test_every_redacted_shape_is_planted():
    assert set(_planted()) == {name for name, _ in SHAPES}


def _runbook(planted: dict[str, str]) -> str:
    return (f"curl -H 'Authorization: Basic {planted['authorization']}' https://ops.internal/hook; "
            f"curl -H \"authorization: bearer {planted['bearer']}\" -H 'X-Goog-Api-Key: {planted['api_key']}' "
            f"https://maps.googleapis.com/; psql {_dsn(planted, 'db.internal.example')}; "
            f"token {planted['token']}; Bearer {planted['bearer']}; psql: could not translate host name "
            f"\"{planted['host_userinfo']}@db.internal.example\" to address; id token {planted['jwt']}; "
            f"PGPASSWORD={planted['secret_field']} psql; "
            f"jdbc:postgresql://db/app?user=app&password={planted['secret_field']}; "
            f"CREATE USER 'app'@'%' IDENTIFIED BY '{planted['statement_password']}'; "
            f"curl -H 'Cookie: sessionid={planted['cookie']}' https://ops.internal/; "
            f"mysql -h 10.30.0.5 -u app -p{planted['option_password']} shop; "
            f"curl -sf -u ops:{planted['option_password']} https://ops.internal/metrics; "
            f"dsn app:{planted['dsn_password']}@tcp(10.30.0.5:3306)/shop; "
            f"https://hooks.slack.com/services/T0A1B2C3D/B0E4F5G6H/{planted['webhook']}; "
            f"refresh token {planted['vendor_token']}; "
            f"env {{\"name\": \"DB_PASSWORD\", \"value\": \"it's-{planted['env_value']}\"}}; "
            f"password: {LETTERS} was rejected; "
            f"ENCRYPTION_KEY={SPOKEN['encryption_key']} RAILS_MASTER_KEY={SPOKEN['master_key']}; "
            f"{{\"private_key_id\": \"{SPOKEN['private_key_id']}\"}}; "
            f"password: {SPOKEN['spaced']} {SPOKEN['joined']} was rejected; password:{SPOKEN['no_space']}; "
            f"db-pass: {SPOKEN['hyphen_pass']}; token: {SPOKEN['token_word']} is wrong; "
            f"password: never {SPOKEN['verb_first']}; PGPASSWORD:{SPOKEN['digits']}; "
            f"ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY={SPOKEN['rails_key']}; "
            f"args: [\"--encryption-key\", \"{SPOKEN['long_option']}\"]; mysql -u app -p {SPOKEN['mysql_spaced']} shop; "
            f"password: connection lost {SPOKEN['opener']}; connect: password: {SPOKEN['chained']}: pq: password "
            f"authentication failed for user \"app\"; AKIAIOSFODNN7EXAMPLE,{planted['key_pair']}\n"
            f"active_record_encryption:\n  primary_key: {planted['rails_block']}\n"
            f"payload {{ data: \"{planted['secret_payload']}\" }}\n-----BEGIN PRIVATE KEY-----\n"
            f"{planted['private_key']}\n-----END PRIVATE KEY-----\n")


def _dsn(planted: dict[str, str], host: str) -> str:
    return f"postgresql://app:{planted['url_password']}@{host}:5432/app"


def _scenario_with_secrets(source: str, path: Path, planted: dict[str, str], password: str) -> Path:
    data = yaml.safe_load((ROOT / "sandbox" / "scenarios" / source).read_text())
    hosts = {}
    for service in data["services"]:
        for revision in service["revisions"]:
            env = revision.get("env", {})
            hosts[revision["name"]] = env.get("DB_HOST", "db.internal.example")
            revision["env"] = {**env, "DB_PASSWORD": password, "UPSTREAM_TOKEN": planted["token"],
                               "ENCRYPTION_KEY": SPOKEN["encryption_key"],
                               "MAPS_API_KEY": planted["api_key"],
                               "DATABASE_URL": _dsn(planted, hosts[revision["name"]])}
    for line in data["logs"]:   # the application's error, as a line the diagnosis quotes, names its DSN
        said = (f"connect {_dsn(planted, hosts.get(line.get('revision'), 'db.internal.example'))} "
                f"(PGPASSWORD={planted['secret_field']}): ")
        if line.get("text"):
            line["text"] = said + line["text"]
        elif isinstance(line.get("json"), dict) and line["json"].get("message"):
            line["json"]["message"] = said + line["json"]["message"]
    data["alert"]["documentation"] = _runbook(planted)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("source, handled, refused", CASES, ids=[f"{s[:-5]}-{h}" for s, h, _ in CASES])
def test_no_secret_or_token_reaches_logs_or_outcomes(tmp_path, source, handled, refused):
    planted = _planted()
    password = "pw-" + secrets.token_hex(12)
    anchor = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=2)
    scenario = _scenario_with_secrets(source, tmp_path / "secrets.yaml", planted, password)
    try:
        box = Sandbox(scenario, anchor=anchor).start()
    except EmulatorMissing as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and an emulator is missing: {exc}", pytrace=False)
        pytest.skip(str(exc))
    try:
        servers = [box.start_function(), box.start_function("on_command")]
        if refused:   # the write refused, for good, in words quoting what it was sent
            box.standins.run.faults.fail_next(1, grpc.StatusCode.INVALID_ARGUMENT, method="UpdateService",
                                              message=f"{REFUSAL}: {_runbook(planted)} (DSN {_dsn(planted, 'db')})")
        notification = box.scenario.notification(anchor)
        box.publish_alert(notification)
        box.publish_alert(b"not a notification")   # the rejection path writes too
        # Rejected, and kept as they arrived: a notification without its incident's state, a command
        # Runwarden does not know.
        broken = {**notification, "incident": {k: v for k, v in notification["incident"].items() if k != "state"}}
        box.publish_alert(broken)
        box.publish_command({"command": "unlock", "command_id": "c-1", "requested_by": "ops",
                             "reason": _runbook(planted), "token": planted["token"]})
        # A command Runwarden runs, its reason holding a key pasted from a runbook: recorded with it redacted.
        box.publish_command({"command": "status", "command_id": "s-1", "requested_by": "ops",
                             "reason": f"after rotating SIGNING_KEY={SPOKEN['reason']}"})
        outcomes = box.wait_outcomes(5, timeout=60)
        captured = []
        for server in servers:
            while True:
                try:
                    captured.append(server.lines.get_nowait())
                except queue.Empty:
                    break
        # What the log agent forwarded of the functions' lines (the scenario's own application logs,
        # seeded in the same stand-in, hold the planted DSN as the application wrote it).
        forwarded = [json.dumps(entry, default=str) for entry in box.standins.logging.entries()
                     if entry.resource.labels.get("service_name", "").startswith("runwarden-")]
    finally:
        box.stop()

    assert sorted(o.body["status"] for o in outcomes) == sorted([handled, "rejected", "rejected", "rejected",
                                                                "reported"])
    written = captured + [json.dumps(o.body) + json.dumps(o.attributes) for o in outcomes] + forwarded
    assert any(f'"step": "{handled}"' in line for line in captured)   # the scan saw the real timeline
    assert forwarded
    for text in written:
        for name, value in (*planted.items(), *SPOKEN.items(), ("password", password), ("letters", LETTERS)):
            assert value not in text, (name, text[:300])
        found = CREDENTIAL_SHAPES.search(text)
        assert found is None, (found.group(), text[max(found.start() - 200, 0):found.end() + 100])
    if handled == "escalated":   # the quoted error reached the outcome, its DSN's password redacted
        assert any("connect postgresql://app:[redacted credential]@" in json.dumps(o.body) for o in outcomes)
    assert sum("[redacted credential]" in json.dumps(o.body) for o in outcomes) >= 2   # and what was kept
    if refused:   # the API's message reached the reason, each credential in it redacted
        [failed] = [o.body for o in outcomes if o.body["status"] == "failed"]
        assert REFUSAL in failed["reason"] and failed["reason"].count("[redacted credential]") >= 6, failed["reason"]
