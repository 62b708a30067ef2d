"""A rejected message loses nothing: it is acknowledged, so Pub/Sub never delivers it again, and what
it said travels with its rejection, whole on the outcome and as an excerpt in the timeline, so the
person who hears of it (a rejected alert pages: `notify`) can read it. In-process parts (the memory
store, the stand-ins' own handlers: tests/property/fast.py) through the real entry points."""
from __future__ import annotations

import base64
import contextlib
import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared.alerts.incidents import IncidentParseError, check_not_ahead, parse_notification
from shared.alerts.received import received
from shared.commands import handle_command
from shared.outcomes import OutcomeStatus
from shared.redaction import REDACTED, redacted
from tests.integration.world import event
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR

MILLIS = {"incident": {"incident_id": "0.rej", "state": "open", "started_at": 1746178794123,
                       "policy_name": "backend 5xx ratio",
                       "resource": {"type": "cloud_run_revision", "labels": {"service_name": "backend"}}},
          "version": "1.2"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def envelope(message: Any) -> dict[str, Any]:
    return {"message": message, "subscription": "projects/demo-project/subscriptions/alerts"}


# (event data, data_form, the data as kept, attributes)
CASES = {
    "a notification in epoch milliseconds": (
        envelope({"data": b64(json.dumps(MILLIS).encode()), "messageId": "41"}), "text", json.dumps(MILLIS), {}),
    "not JSON": (envelope({"data": b64(b"{this is not json"), "messageId": "42"}), "text", "{this is not json", {}),
    "attributes only": (envelope({"attributes": {"incident_id": "0.x", "policy": "p"}, "messageId": "43"}), "none",
                        "", {"incident_id": "0.x", "policy": "p"}),
    "not base64": (envelope({"data": "%%% not base64 %%%", "messageId": "44"}), "base64", "%%% not base64 %%%", {}),
    "not UTF-8": (envelope({"data": b64(b"\xff\xfe{}"), "messageId": "45"}), "base64", b64(b"\xff\xfe{}"), {}),
    # 48 bytes of binary data: 64 base64 characters of both cases and digits, as a PEM body's line, yet this service's
    # own writing of the bytes, kept for the person it pages; a private key's DER sent so (RFC 8410 section 7's Ed25519
    # key, 48 bytes) is hidden whole.
    "binary of 48 bytes": (envelope({"data": b64(bytes(range(0x80, 0xB0))), "messageId": "46"}), "base64",
                           b64(bytes(range(0x80, 0xB0))), {}),
    "a private key's DER": (envelope({"data": "MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC",
                                      "messageId": "47"}), "base64", REDACTED, {}),
    "no message": ({"subscription": "projects/p/subscriptions/s"}, "event",
                   json.dumps({"subscription": "projects/p/subscriptions/s"}), {}),
    "message a string": (envelope("hi"), "event", json.dumps(envelope("hi"), sort_keys=True), {}),
}


@pytest.mark.parametrize("data, form, kept, attributes", CASES.values(), ids=CASES.keys())
def test_what_a_message_carried_is_read_whatever_its_shape(data, form, kept, attributes):
    content = received(data)
    assert (content.data_form, content.data, content.attributes) == (form, kept, attributes)


def test_a_message_too_large_to_carry_whole_is_cut_and_says_so():
    content = received(envelope({"data": b64(b"x" * 2_000_000)}))
    assert content.data_bytes == 2_000_000
    kept = len(content.data.split("...")[0])
    assert content.data_cut_bytes == 2_000_000 - kept > 0
    assert content.data_kept_bytes == kept
    assert content.data.endswith(f"[cut: 2000000 bytes as received: the first {kept} kept, with credentials redacted "
                                 f"({kept} bytes here), the last {2_000_000 - kept} not kept]")
    excerpt = content.excerpt(100)
    assert len(excerpt["data"]) == 100 and "the outcome holds it cut" in excerpt["data_cut"], excerpt["data_cut"]
    assert "the whole is on the outcome" not in excerpt["data_cut"]


# Pub/Sub refuses a publish request over 10,000,000 bytes (google-cloud-pubsub's
# _SERVER_PUBLISH_MAX_BYTES, "max accepted size of PublishRequest", publisher/_batch/thread.py).
PUBLISH_MAX_BYTES = 10 * 1000 * 1000


@pytest.mark.parametrize("char", ["x", "\x01", "é", "€", "\U0001F600"])
def test_a_rejected_message_near_pubsubs_limit_leaves_an_outcome_pubsub_takes(char):
    """A message of up to 10 MB, every character of one kind: the outcome that carries it is JSON with
    non-ASCII and control characters escaped (an emoji is 4 bytes received, 12 on the outcome), so the
    bound on what is kept is on what the outcome holds, not on characters; past Pub/Sub's limit the
    outcome (the only answer, the message being acknowledged) could never be published."""
    from shared.outcomes import Outcome, Timestamps

    data = (char * (9_900_000 // len(char.encode()))).encode()
    content = received(envelope({"data": b64(data), "messageId": "46"}))
    outcome = Outcome(status=OutcomeStatus.REJECTED, reason="malformed command: message.data: too large",
                      received=content, timestamps=Timestamps(received_at=ANCHOR))
    from shared.alerts.received import MAX_KEPT_BYTES

    assert len(outcome.to_json()) < PUBLISH_MAX_BYTES     # an emoji's was 12 MB: never published
    assert len(outcome.to_json()) <= MAX_KEPT_BYTES + 1024, len(outcome.to_json())
    assert content.data_bytes == len(data) and f"[cut: {len(data)} bytes as received: " in content.data
    assert content.data_cut_bytes > 0
    assert content.data.startswith(char * 1000)


def world() -> FastWorld:
    return FastWorld(seeded_copy("bad_revision", None), ANCHOR)


def lines(run) -> tuple[Any, list[dict[str, Any]]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        answer = run()
    return answer, [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


@pytest.mark.parametrize("data, form, kept, attributes", CASES.values(), ids=CASES.keys())
def test_a_rejected_alert_carries_the_message_to_the_person_it_pages(data, form, kept, attributes):
    w = world()
    outcome, logged = lines(lambda: w.handle(data))

    assert outcome.status is OutcomeStatus.REJECTED
    [published] = w.published()
    assert published["received"]["data"] == kept and published["received"]["data_form"] == form
    assert published["received"]["attributes"] == attributes
    [notify] = [line for line in logged if line["runwarden"]["step"] == "notify"]
    assert notify["runwarden"]["received"]["data"] == kept[:4096]
    assert w.standins.run.calls == []


def test_a_relayed_message_past_what_an_outcome_keeps_says_plainly_it_was_cut_and_how_much():
    """A relay's message of 2 MB (a notification over its bound in a relay's push body) is rejected and kept cut at
    1 MiB. Before, the reason said "the whole message is on the outcome": the tail was lost unsaid."""
    incident = {"incident_id": "0.relayed", "state": "open", "summary": "x" * 1_500_000}
    relayed = json.dumps({"message": {"data": b64(json.dumps({"incident": incident, "version": "1.2"}).encode()),
                                      "messageId": "r-1"}}).encode()
    w = world()
    outcome, logged = lines(lambda: w.handle(envelope({"data": b64(relayed), "messageId": "47"})))

    assert outcome.status is OutcomeStatus.REJECTED
    [published] = w.published()
    cut = published["received"]["data_cut_bytes"]
    kept = published["received"]["data"].split("... [cut: ")[0]
    assert cut == len(relayed) - len(kept.encode()) > 400_000, cut
    said = (f"the message's data is {len(relayed)} bytes as received, and the outcome holds it only in part "
            f"(`received`): its first {len(kept.encode())} bytes are kept, with credentials redacted "
            f"({len(kept.encode())} bytes there), and the last {cut} are cut")
    assert said in outcome.reason, outcome.reason
    assert "the whole message is on the outcome" not in outcome.reason
    [notify] = [line for line in logged if line["runwarden"]["step"] == "notify"]
    assert f"the last {cut} of its {len(relayed)} bytes as received not kept" in \
        notify["runwarden"]["received"]["data_cut"]


def test_a_malformed_command_with_no_readable_id_still_carries_what_it_said():
    """Nobody waits on an id that cannot be read: the outcome is the only trace of the message."""
    w = world()
    body = b'{"command": "rollback_traffic", "target": "projects/demo-project/locations/us-central1/services/backend"}'
    [outcome], logged = lines(lambda: handle_command(event(body, "c-9"), w.config, w.adapters))

    assert outcome.status is OutcomeStatus.REJECTED and outcome.command_id is None
    assert "command.command_id" in outcome.reason
    [published] = w.published()
    assert published["received"]["data"] == body.decode() and published["received"]["message_id"] == "c-9"
    [rejected] = [line for line in logged if line["runwarden"]["step"] == "rejected"]
    assert rejected["runwarden"]["received"]["data"] == body.decode()


@pytest.mark.parametrize("command_id", ["rb-1\nx", "rb 1", "-rb", "x" * 129])
def test_a_malformed_command_s_id_that_no_command_may_carry_is_not_put_on_its_answer(command_id):
    """The id of a rejected command travels on its answer (and as the outcome's attribute) only when it
    is one a command may carry: exactly the schema's pattern, not a prefix of it ("rb-1\\nx"). An id with
    only whitespace around it ("rb-1\\n") is answered under the id inside (test_command_nulls_flags_ids.py)."""
    w = world()
    body = json.dumps({"command": "status", "command_id": command_id, "requested_by": "a@example.com"}).encode()
    outcome = handle_command(event(body, "c-10"), w.config, w.adapters)[0]
    assert outcome.status is OutcomeStatus.REJECTED and outcome.command_id is None, outcome.command_id


def test_an_alert_naming_no_resource_pages_a_person_and_reads_nothing():
    """A PromQL policy whose result keeps the service's labels but no monitored resource: answered
    `skipped`, it wrote no `notify` line, and its policy kept firing unheard."""
    from tests.property.fast import scenario_model

    notification = scenario_model("bad_revision").notification(ANCHOR)
    labels = notification["incident"]["resource"]["labels"]
    notification["incident"].update(resource={"type": "", "labels": {}}, metric={"type": "", "labels": labels},
                                    condition={"conditionPrometheusQueryLanguage": {"query": "x > 1"}})
    w = world()
    outcome, logged = lines(lambda: w.handle(event(json.dumps(notification).encode(), "m-7")))

    assert outcome.status is OutcomeStatus.REJECTED and "names no monitored resource" in outcome.reason
    assert [line for line in logged if line["runwarden"]["step"] == "notify"]
    assert w.standins.run.calls == [] and w.standins.monitoring.calls == []


PUBLISHED = datetime(2026, 11, 26, 12, 2, tzinfo=timezone.utc)


@pytest.mark.parametrize("started, ended, field", [
    (PUBLISHED + timedelta(hours=1), None, "incident.started_at"),           # a relay's time zone shift
    (PUBLISHED + timedelta(minutes=6), None, "incident.started_at"),         # past the clocks' allowance
    (PUBLISHED - timedelta(hours=1), PUBLISHED + timedelta(hours=2), "incident.ended_at"),
    (PUBLISHED + timedelta(minutes=4), None, None),                           # two clocks, within the allowance
    (PUBLISHED - timedelta(days=3), PUBLISHED, None),
])
def test_an_incident_time_after_its_notification_is_no_incident_time(started, ended, field):
    notification = {"incident": {"incident_id": "0.t", "state": "closed" if ended else "open",
                                 "started_at": int(started.timestamp()),
                                 "ended_at": int(ended.timestamp()) if ended else None}, "version": "1.2"}
    incident = parse_notification(notification)
    if field is None:
        check_not_ahead(incident, PUBLISHED, PUBLISHED - timedelta(minutes=1))
        return
    with pytest.raises(IncidentParseError) as caught:
        check_not_ahead(incident, PUBLISHED, PUBLISHED - timedelta(minutes=1))
    assert caught.value.field == field and "after the message was published and received" in caught.value.reason


def test_an_alert_starting_a_day_after_it_arrived_is_rejected_not_diagnosed_as_missing_data():
    """Diagnosed, it read as "no request_count data for the service (Cloud Monitoring can lag by ~3
    minutes)": a wrong reason, after 13 reads."""
    from tests.property.fast import scenario_model

    notification = scenario_model("bad_revision").notification(ANCHOR + timedelta(days=1))
    w = world()
    outcome, _ = lines(lambda: w.handle(event(json.dumps(notification).encode(), "m-8")))

    assert outcome.status is OutcomeStatus.REJECTED and "incident.started_at" in outcome.reason, outcome.reason
    assert "24.0 h after the message" in outcome.reason
    assert w.standins.run.calls == [] and w.standins.monitoring.calls == []
    assert w.published()[0]["received"]["data"] == json.dumps(notification)


def test_an_alert_on_the_commands_topic_pages_as_a_rejected_alert_naming_the_topic():
    """A notification channel pointed at the commands topic: each alert was rejected as a malformed
    command ("command.command: Unable to extract tag ..."), which writes no `notify` line (nobody
    waits on it), so every alert of the channel was lost unheard."""
    from tests.property.fast import scenario_model

    notification = scenario_model("bad_revision").notification(ANCHOR)
    w = world()
    [outcome], logged = lines(lambda: handle_command(event(json.dumps(notification).encode(), "m-9"), w.config,
                                                     w.adapters))

    assert outcome.status is OutcomeStatus.REJECTED and outcome.trigger == "alert"
    assert outcome.incident_id == notification["incident"]["incident_id"]
    assert "a Cloud Monitoring notification (incident" in outcome.reason and "arrived on the commands topic" in \
        outcome.reason and "point the notification channel at the alerts topic" in outcome.reason, outcome.reason
    [notify] = [line for line in logged if line["runwarden"]["step"] == "notify"]
    assert notify["logging.googleapis.com/labels"]["runwarden_incident"] == outcome.incident_id
    assert json.loads(w.published()[0]["received"]["data"]) == notification
    assert w.standins.run.calls == []


def test_a_command_on_the_alerts_topic_is_told_where_it_belongs():
    w = world()
    body = {"command": "pause", "command_id": "p-1", "requested_by": "alice@example.com", "reason": "x"}
    outcome, logged = lines(lambda: w.handle(event(json.dumps(body).encode(), "m-10")))

    assert outcome.status is OutcomeStatus.REJECTED
    assert "this is a Runwarden command ('pause'), not a Monitoring notification; it was not run: publish it to " \
           "the commands topic" in outcome.reason, outcome.reason
    assert [line for line in logged if line["runwarden"]["step"] == "notify"]
    # Its sender may be waiting on its command_id (the CLI listens for that attribute): the rejection
    # carries it, so the sender hears that it was not run instead of waiting for an answer that never comes.
    assert outcome.command_id == "p-1" and w.published()[0]["command_id"] == "p-1"
    assert w.publisher.messages[0][2].get("command_id") == "p-1"


@pytest.mark.parametrize("body, said, ids", [
    ([{"command": "pause", "command_id": "p-1", "requested_by": "a@example.com", "reason": "x"},
      {"command": "resume", "command_id": "r-1", "requested_by": "a@example.com", "reason": "x"}],
     "this is an array of 2 Runwarden command(s) ('pause', 'resume'), not a Monitoring notification; none was run: "
     "publish each to the commands topic, one command per message", ["p-1", "r-1"]),
    # The CLI's schema field says what it is, though its command is misspelt.
    ({"schema": "runwarden.command/v1", "comand": "pause", "command_id": "p-3", "requested_by": "a@example.com"},
     "this is a Runwarden command (its schema is runwarden.command/v1), not a Monitoring notification", ["p-3"]),
])
def test_commands_on_the_alerts_topic_in_any_shape_are_told_where_commands_go(body, said, ids):
    """A JSON array of commands was answered "expected a JSON object, got array", a bad notification under no id;
    a command whose schema says so but which names no `command`, "incident: is required (is this a Monitoring
    notification?)". Each says the commands topic takes commands, answered under each id; nothing is run."""
    w = world()
    w.handle(event(json.dumps(body).encode(), "m-13"))
    published = w.published()
    assert [p["command_id"] for p in published] == ids
    for outcome in published:
        assert outcome["status"] == "rejected" and said in outcome["reason"], outcome["reason"]
    assert w.standins.run.calls == [] and w.state.get_record("flags", "kill_switch") is None


@pytest.mark.parametrize("body", [[{"command": "pause", "command_id": "p-1"}, 3], [], [{"incident_id": "0.a"}]])
def test_an_array_that_is_not_of_commands_is_not_called_one(body):
    w = world()
    outcome = w.handle(event(json.dumps(body).encode(), "m-14"))
    assert outcome.status is OutcomeStatus.REJECTED and "Runwarden command" not in outcome.reason, outcome.reason


def test_an_array_of_notifications_is_said_to_be_batched_naming_each_incident():
    """A relay that batched notifications into one message: "expected a JSON object, got array" named none of the
    incidents it held. Each is named, nothing read or done, and it is told to a person."""
    from tests.property.fast import scenario_model

    first = scenario_model("bad_revision").notification(ANCHOR)
    second = scenario_model("connector_saturation").notification(ANCHOR)
    w = world()
    outcome, logged = lines(lambda: w.handle(event(json.dumps([first, second]).encode(), "m-15")))

    assert outcome.status is OutcomeStatus.REJECTED, outcome.reason
    assert "got an array of 2 Monitoring notification(s) (incident " in outcome.reason, outcome.reason
    for notification in (first, second):
        assert repr(notification["incident"]["incident_id"]) in outcome.reason
    assert [line for line in logged if line["runwarden"]["step"] == "notify"]
    assert w.standins.run.calls == []


_PAUSE = '"command":"pause","requested_by":"jose@example.com"'


@pytest.mark.parametrize("data, ids, said", [
    # A reason typed in a Latin-1 terminal: the alert path read "not UTF-8" and lost the command and its id.
    (("{" + _PAUSE + ',"command_id":"p-jose","reason":"Jos\u00e9: migration"}').encode("latin-1"), ["p-jose"],
     "message.data: not UTF-8 text (byte"),
    (b"\xff\xfe" + ("{" + _PAUSE + ',"command_id":"p-16","reason":"r"}').encode("utf-16-le"), ["p-16"],
     "message.data: not UTF-8 text (byte"),
    # A key given twice: the alert path read "appears twice in one object" and lost both.
    (("{" + _PAUSE + ',"command_id":"p-2","reason":"r","dry_run":true,"dry_run":false}').encode(), ["p-2"],
     "the key 'dry_run' appears twice (at the top level: true, then false)"),
    (("{" + _PAUSE + ',"command_id":"p-a","reason":"r","command_id":"p-b"}').encode(), ["p-a", "p-b"],
     "command_id is given more than once, with different values ('p-a', 'p-b')"),
    # Read as a command, and one the commands topic would refuse as well: said, so it is fixed once.
    (("{" + _PAUSE + ',"command_id":"p-9","reason":"   "}').encode(), ["p-9"], "command.reason"),
])
def test_a_command_on_the_alerts_topic_is_answered_as_the_commands_path_reads_it(data, ids, said):
    """Whatever keeps the body from being read as a notification, a body that names a command at its top
    level is answered as one sent to the wrong topic, under each id its sender may wait on, with what the
    commands topic would answer it as sent; nothing is run."""
    w = world()
    _, logged = lines(lambda: w.handle(event(data, "m-12")))
    published = w.published()
    assert [p["command_id"] for p in published] == ids
    assert [m[2].get("command_id") for m in w.publisher.messages] == ids
    for outcome in published:
        assert outcome["status"] == "rejected" and outcome["trigger"] == "alert"
        assert "this is a Runwarden command ('pause'), not a Monitoring notification; it was not run: publish it " \
               "to the commands topic" in outcome["reason"], outcome["reason"]
        assert said in outcome["reason"], outcome["reason"]
        kept = outcome["received"]
        assert kept["data"] == (b64(data) if kept["data_form"] == "base64" else data.decode()), kept
    assert [line for line in logged if line["runwarden"]["step"] == "notify"]
    assert w.standins.run.calls == [] and w.state.get_record("flags", "kill_switch") is None


@pytest.mark.parametrize("command_id", ["bad id", "p-1\nx", "", -7, True, None, "x" * 200])
def test_a_command_on_the_alerts_topic_with_no_usable_command_id_is_rejected_without_one(command_id):
    w = world()
    body = {"command": "pause", "requested_by": "alice@example.com", "reason": "x",
            **({} if command_id is None else {"command_id": command_id})}
    outcome = w.handle(event(json.dumps(body).encode(), "m-11"))
    assert outcome.status is OutcomeStatus.REJECTED and outcome.command_id is None, outcome


def test_a_command_on_the_alerts_topic_whose_command_id_has_a_newline_after_it_is_rejected_under_the_id_inside():
    """A script's `$(cat id)` keeps the file's newline: refused as sent, answered under the id inside so that its
    sender hears it, the character named."""
    w = world()
    body = {"command": "pause", "requested_by": "alice@example.com", "reason": "x", "command_id": "p-1\n"}
    outcome = w.handle(event(json.dumps(body).encode(), "m-11"))
    assert outcome.status is OutcomeStatus.REJECTED and outcome.command_id == "p-1", outcome


def test_a_command_on_the_alerts_topic_whose_command_id_is_a_number_is_rejected_under_its_text():
    """Its sender waits on "7", the id's text as sent: answered under none (as it was), it timed out."""
    w = world()
    body = {"command": "pause", "requested_by": "alice@example.com", "reason": "x", "command_id": 7}
    outcome = w.handle(event(json.dumps(body).encode(), "m-11"))
    assert outcome.status is OutcomeStatus.REJECTED and outcome.command_id == "7", outcome
    assert 'answered under its text as sent, "7"' in outcome.reason, outcome.reason


@pytest.mark.parametrize("resource", [
    {"type": "cloud_run_job",
     "labels": {"project_id": "demo-project", "location": "us-central1", "job_name": "backend"}},
    {"type": "gce_instance", "labels": {"project_id": "demo-project", "zone": "us-central1-a", "instance_id": "1"}},
])
def test_an_alert_on_a_resource_runwarden_does_not_read_reaches_a_person(resource):
    """Runwarden's own policies never alert on such a resource (infra/alerts.tf): a policy someone
    pointed at its channel did, and Runwarden can never handle it. Answered `skipped`, it wrote no
    `notify` line, and an alert sent only to Runwarden was heard by nobody."""
    from tests.property.fast import scenario_model

    notification = scenario_model("bad_revision").notification(ANCHOR)
    notification["incident"].update(resource=resource)
    w = world()
    outcome, logged = lines(lambda: w.handle(event(json.dumps(notification).encode(), "m-11")))

    assert outcome.status is OutcomeStatus.ESCALATED and "is not one Runwarden diagnoses" in outcome.reason
    [notify] = [line for line in logged if line["runwarden"]["step"] == "notify"]
    assert resource["type"] in notify["message"]
    assert w.standins.run.calls == [] and w.standins.monitoring.calls == []


TOKEN, BEARER = "ya29.a0AfB_byC3xq-9Zt0Lk", "c2VjcmV0LXdlYmhvb2stdG9rZW4"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"


@pytest.mark.parametrize("text, kept", [
    (f'curl -H "Authorization: Bearer {BEARER}" https://hooks.example.com/silence',
     'curl -H "Authorization: Bearer [redacted credential]" https://hooks.example.com/silence'),
    (f"token {TOKEN} expires hourly", "token [redacted credential] expires hourly"),
    (json.dumps({"key": KEY, "next": 1}), json.dumps({"key": "[redacted credential]", "next": 1})),
    (json.dumps({"key": KEY[:60]}), '{"key": "[redacted credential]"}'),   # cut before its END line
    ("Bearer owner; a bearer bond", "Bearer owner; a bearer bond"),   # no credential: kept as it is
    ("the bearer instruments, bearer tokens", "the bearer instruments, bearer tokens"),
    ("Authorization: Bearer 8chars-x", "Authorization: Bearer [redacted credential]"),
])
def test_credentials_are_not_kept_from_a_rejected_message(text, kept):
    content = received(envelope({"data": b64(text.encode()), "messageId": "46", "attributes": {"note": text}}))
    assert content.data == kept and content.attributes == {"note": kept}
    assert content.data_bytes == len(text.encode())


def test_a_rejected_alert_pages_what_its_documentation_said_without_its_credentials():
    """A policy's documentation holds a runbook step with a webhook's bearer token and an access token
    ("the data sent to channel recipients may contain sensitive information", Cloud Monitoring). The
    notification is rejected (its time in milliseconds): the page and the outcome carry what it said,
    and neither token (Runwarden writes no credential: tests/e2e/test_no_secrets.py)."""
    notification = json.loads(json.dumps(MILLIS))
    notification["incident"]["documentation"] = {
        "content": f'## Runbook\n1. Silence: `curl -H "Authorization: Bearer {BEARER}" https://hooks.example.com`\n'
                   f"2. Query with `{TOKEN}`", "mime_type": "text/markdown"}
    w = world()
    outcome, logged = lines(lambda: w.handle(envelope({"data": b64(json.dumps(notification).encode()),
                                                       "messageId": "47"})))

    assert outcome.status is OutcomeStatus.REJECTED
    [published] = w.published()
    written = json.dumps(published) + "".join(json.dumps(line) for line in logged)
    assert BEARER not in written and TOKEN not in written
    assert "## Runbook" in published["received"]["data"] and "[redacted credential]" in published["received"]["data"]
    [notify] = [line for line in logged if line["runwarden"]["step"] == "notify"]
    assert "Bearer [redacted credential]" in notify["runwarden"]["received"]["data"]


def _named(body: bytes | None, message_id: str = "m-11") -> tuple[Any, dict[str, Any]]:
    """A malformed alert's outcome and its `notify` line (`body` None: an envelope with no message)."""
    data = event(body, message_id) if body is not None else {"subscription": "projects/p/subscriptions/s"}
    w = world()
    outcome, logged = lines(lambda: w.handle(data))
    assert outcome.status is OutcomeStatus.REJECTED, outcome.reason
    [notify] = [line for line in logged if line["runwarden"]["step"] == "notify"]
    return outcome, notify


def _incident(**fields: Any) -> bytes:
    return json.dumps({"incident": {"state": "open", "started_at": 1764158400, "policy_name": "backend 5xx ratio",
                                    **fields}, "version": "1.2"}).encode()


UNREADABLE_ID = {
    "not JSON": (b"{this is not json", ["Pub/Sub message id 'm-11'", "published '2026-11-26T12:02:00Z'"]),
    "no incident_id": (_incident(), ["Pub/Sub message id 'm-11'", "policy 'backend 5xx ratio'"]),
    "an id with a space inside": (_incident(incident_id="0.ab c"), ["policy 'backend 5xx ratio'"]),
    "an id that is a list": (_incident(incident_id=["0.a"]), ["published '2026-11-26T12:02:00Z'"]),
    "an id given twice": (b'{"incident": {"incident_id": "0.a", "incident_id": "0.b", "state": "open"}}',
                          ["Pub/Sub message id 'm-11'"]),
    "no message": (None, ["nothing else in it identifies it either"]),
}


@pytest.mark.parametrize("body, says", UNREADABLE_ID.values(), ids=UNREADABLE_ID.keys())
def test_a_rejected_alert_whose_incident_id_cannot_be_read_says_so_and_what_finds_it(body, says):
    """The page names the incident (docs/deploy.md, "Runwarden needs a person"); with no readable id it named
    nothing, and said nothing of it: the person paged had only the message's excerpt to go on."""
    outcome, notify = _named(body)

    assert outcome.incident_id is None and "runwarden_incident" not in notify["logging.googleapis.com/labels"]
    assert "its incident id could not be read, so no incident is named" in outcome.reason, outcome.reason
    for words in says:
        assert words in outcome.reason and words in notify["message"], (words, outcome.reason)


@pytest.mark.parametrize("incident_id, keyed", [("0.rej", "0.rej"), (" 0.REJ ", "0.rej")])
def test_a_rejected_alert_whose_incident_id_reads_is_labelled_with_it(incident_id, keyed):
    """Rejected for another field (a time in milliseconds), the id itself reads: the outcome and its lines
    carry it as every alert's do (stripped, case-folded), so `runwarden timeline` finds the rejection."""
    outcome, notify = _named(_incident(incident_id=incident_id, started_at=1764158400123))

    assert outcome.incident_id == keyed and notify["logging.googleapis.com/labels"]["runwarden_incident"] == keyed
    assert f"; incident {keyed}, policy 'backend 5xx ratio'" in outcome.reason, outcome.reason


def test_a_rejection_named_by_its_incident_says_too_that_its_data_was_cut():
    from shared.alerts.received import named
    from shared.outcomes import Received

    content = Received(data_form="text", data='{"incident": {"incident_id": "0.x"}}', data_bytes=3_000_000,
                       data_kept_bytes=1_100_000, data_cut_bytes=1_900_000)
    words = named(content, "incident.summary").words
    assert words.startswith("; incident 0.x") and "the last 1900000 are cut" in words, words


def test_a_cut_message_whose_credentials_were_redacted_says_each_size_for_what_it_counts():
    """A message of 7,030,000 bytes of `password: s3cr3tX1 ...`: each redaction makes it longer. It is cut as received
    (where no credential is split) and only what is kept is redacted, so the bytes not kept are counted as received:
    `data_cut_bytes` is the tail as received, and the bytes kept are the rest. Before, the whole was redacted first
    (214 MiB for this message, bench/rejected_naming.py) and the cut counted on the redacted text, whose size was said
    instead."""
    from shared.alerts.received import cut_words, named

    data = (b"password: s3cr3tX1 " * 370_000)[:7_030_000]
    content = received(envelope({"data": b64(data), "messageId": "48"}))
    kept = content.data.split("... [cut: ")[0]

    assert content.data_bytes == 7_030_000 and len(kept.encode()) == content.data_kept_bytes
    received_kept = 7_030_000 - content.data_cut_bytes
    assert redacted(data[:received_kept].decode()) == kept          # the start as received, redacted: nothing else
    assert content.data.endswith(f"[cut: 7030000 bytes as received: the first {received_kept} kept, with credentials "
                                 f"redacted ({content.data_kept_bytes} bytes here), the last {content.data_cut_bytes} "
                                 "not kept]"), content.data[-200:]
    words = cut_words(content)
    assert ("the message's data is 7030000 bytes as received" in words
            and f"its first {received_kept} bytes are kept, with credentials redacted ({content.data_kept_bytes} bytes "
                f"there), and the last {content.data_cut_bytes} are cut" in words), words
    assert "s3cr3tX1" not in named(content, "incident").words


# A credential whose replacement the bound falls in, each shape's: a JSON string's private key, a URL's password, a
# header's token, at the bound or just before it. The kept text ends before the credential (its name and the
# replacement alike): never with a piece of either, never with the credential's head left as it came.
_STRADDLING = {
    "a private key": '"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC' + "A" * 3000
                     + '\\n-----END PRIVATE KEY-----\\n"',
    "a URL's password": "postgresql://app:" + "p4ss" * 40 + "@10.0.0.3/orders",
    "a bearer token": "Authorization: Bearer " + "tok3n" * 30,
    "a password field": "password=" + "s3cr3tX1" * 30,
}


@pytest.mark.parametrize("before", [30, 10, 0])
@pytest.mark.parametrize("secret", _STRADDLING.values(), ids=_STRADDLING.keys())
def test_a_credential_the_cut_falls_in_is_left_out_whole(secret: str, before: int):
    """Before, the whole was redacted and then cut: a cut in a replacement kept half of it (`[redacted cre`)."""
    from shared.alerts.received import MAX_KEPT_BYTES

    lead = "x" * (MAX_KEPT_BYTES - 3 - before) + " "   # with the quotes JSON adds, `before` short of the bound
    text = lead + secret + " tail " + "y" * 1000
    content = received(envelope({"data": b64(text.encode()), "messageId": "49"}))
    kept = content.data.split("... [cut: ")[0]

    # the start of the text redacted, ending before the credential's replacement or after all of it, never in it
    assert redacted(text).startswith(kept) and kept.count("[") == kept.count(REDACTED), (kept[-80:], content.data[-200:])
    assert kept.startswith(lead) and redacted(text[:len(text) - content.data_cut_bytes]) == kept


@pytest.mark.parametrize("data", [b"x" * 2_000_000, json.dumps({"incident": {"incident_id": "0.cut"},
                                                                  "summary": "x" * 2_000_000}).encode()],
                         ids=["a command past its bound", "an alert on the commands topic"])
def test_a_rejected_command_whose_message_is_kept_cut_says_so_in_its_reason(data):
    """A message on the commands topic past the 1 MiB an outcome keeps: its rejection's reason says its `received` is
    cut (docs/messages.md), as a rejected alert's does. Before, only the `[cut: ...]` marker deep in the data said it."""
    w = world()
    [outcome] = handle_command(event(data, "c-11"), w.config, w.adapters)

    assert outcome.status is OutcomeStatus.REJECTED and outcome.received.data_cut_bytes > 0
    assert (f"the message's data is {len(data)} bytes as received, and the outcome holds it only in part" in outcome.reason
            and f"the last {outcome.received.data_cut_bytes} are cut" in outcome.reason), outcome.reason[-600:]


def _large(notification_text: bytes) -> dict[str, Any]:
    from shared.alerts.relayed import MAX_WRAPPED_TEXT_BYTES

    assert len(notification_text) > MAX_WRAPPED_TEXT_BYTES
    return envelope({"data": b64(notification_text), "messageId": "49"})


def _bounded(monkeypatch) -> list[int]:
    """Records the length of every text `named` parses or redacts, failing on one past the pipeline's bound."""
    import shared.alerts.received as module
    from shared.alerts.relayed import MAX_WRAPPED_TEXT_BYTES

    seen: list[int] = []
    parse, redact = module._json_object, module.redacted

    def parsed(text):
        seen.append(len(text))
        assert len(text) <= MAX_WRAPPED_TEXT_BYTES, f"parsed whole: {len(text)} bytes"
        return parse(text)

    def redacted(text):
        seen.append(len(text))
        assert len(text) <= MAX_WRAPPED_TEXT_BYTES, f"redacted whole: {len(text)} characters"
        return redact(text)

    monkeypatch.setattr(module, "_json_object", parsed)
    monkeypatch.setattr(module, "redacted", redacted)
    return seen


def test_a_rejected_alert_past_the_pipelines_bound_is_named_without_parsing_or_redacting_it_whole(monkeypatch):
    """A 7 MB message: past what the pipeline parses (a relay's 4.6 MiB), naming it reads only its incident id and
    policy name, each redacted on its own. Before, the whole was redacted and parsed: a 7.35 MB `[{},{},...]` took a
    function from 130 to 251 MiB of its 256 (bench/rejected_naming.py)."""
    from shared.alerts.received import named

    policy = "backend 5xx Authorization: Bearer ya29.a0AfH6SMBx3kZ9qLmN8pQ7rS2tU4vW6xY"
    text = json.dumps({"incident": {"incident_id": "0.Big", "policy_name": policy, "summary": "x" * 7_000_000},
                       "version": "1.2"}).encode()
    event_data = _large(text)
    content = received(event_data)
    _bounded(monkeypatch)

    words = named(content, "incident", event_data)
    assert words.incident_id == "0.big" and words.words.startswith("; incident 0.big, policy 'backend 5xx "), words
    assert "ya29" not in words.words and "[redacted credential]" in words.words


@pytest.mark.parametrize("text", [b"[" + b"{}," * 2_450_000 + b"{}]",
                                  json.dumps({"incident": {"incident_id": "0.a", "summary": 'see "incident_id": "0.b"'
                                                           + "x" * 7_000_000}}).encode()],
                         ids=["no notification", "two ids"])
def test_a_rejected_alert_past_the_pipelines_bound_naming_no_one_incident_names_none(text, monkeypatch):
    """Precision: a text past the bound that gives no id, or two different ones (one quoted in a summary), names no
    incident; the message id finds it."""
    from shared.alerts.received import named

    event_data = _large(text)
    content = received(event_data)
    _bounded(monkeypatch)
    words = named(content, "incident", event_data)
    assert words.incident_id is None and "find it by its Pub/Sub message id '49'" in words.words, words


def _quoting(*ids: str, inner: str = "") -> bytes:
    """A notification past the pipeline's bound whose incident is `ids[0]`, its summary quoting the others; `inner`:
    another id, inside a relay's base64 `data` the notification carries."""
    quotes = "".join(f'see "incident_id": "{other}" ' for other in ids[1:])
    relayed = {"message": {"data": b64(json.dumps({"incident": {"incident_id": inner}}).encode())}} if inner else {}
    return json.dumps({"incident": {"incident_id": ids[0], "summary": quotes + "x" * 7_000_000}, "relay": relayed,
                       "version": "1.2"}).encode()


def _spelled(*spellings: str, policies: tuple[str, ...] = (), values: tuple[str, ...] = ()) -> bytes:
    """A notification past the pipeline's bound whose id and policy name are given in several places, spelled as each
    is given there (JSON-escaped already: written into the text as they are); `values`: other values of its id's key,
    JSON as they are written."""
    ids = "".join(f'"incident_id": "{spelling}", ' for spelling in spellings[1:])
    ids += "".join(f'"incident_id": {value}, ' for value in values)
    policy = "".join(f'"policy_name": "{name}", ' for name in policies)
    return (f'{{"incident": {{"incident_id": "{spellings[0]}", {ids}{policy}"summary": "' + "x" * 7_000_000
            + '"}, "version": "1.2"}').encode()


# (the ids the message quotes, in order; what the rejection's words name)
QUOTED_IDS = {
    "two ids": (_quoting("0.a", "0.b"), "it quotes two incident ids, 0.a and 0.b"),
    "two ids, one in a relay's data": (_quoting("0.a", inner="0.c"), "it quotes two incident ids, 0.a and 0.c"),
    "three ids": (_quoting("0.a", "0.b", "0.d"), "it quotes 3 incident ids, the first 0.a"),
    "a hundred and more ids": (_quoting("0.a", *(f"0.q{i}" for i in range(150))),
                               "it quotes at least 100 incident ids, the first 0.a"),
    "two ids, one of no id's shape": (_quoting("0.a", "not an id!"), "its incident id could not be read"),
    # An access token is of an id's shape: redacted first, it is none, never named.
    "two access tokens as ids": (_quoting("ya29.a0AfH6SMBx3kZ9qLmN8pQ7rS2tU4vW6xY", "ya29.c0AbCdEfGhIjKlMnOpQrStUvWx"),
                                 "its incident id could not be read"),
    "an id and an access token": (_quoting("0.a", "ya29.a0AfH6SMBx3kZ9qLmN8pQ7rS2tU4vW6xY"),
                                  "its incident id could not be read"),
    "two ids and an access token": (_quoting("0.a", "ya29.a0AfH6SMBx3kZ9qLmN8pQ7rS2tU4vW6xY", "0.b"),
                                    "it quotes two incident ids, 0.a and 0.b"),
    "an access token inside a relay's data": (_quoting("0.a", "0.b", inner="ya29.a0AfH6SMBx3kZ9qLmN8pQ7rS2tU4vW6xY"),
                                             "it quotes two incident ids, 0.a and 0.b"),
    # The bound counts ids, not the values found: one of no id's shape does not make 150 ids 99.
    "a value of no id's shape, then 150 ids": (_quoting("not an id!", *(f"0.q{i}" for i in range(150))),
                                               "it quotes at least 100 incident ids, the first 0.q0"),
    "exactly a hundred ids": (_quoting("0.a", *(f"0.q{i}" for i in range(99))),
                              "it quotes 100 incident ids, the first 0.a"),
    # Ids read as Runwarden keys them: two spellings of one id are one, and two others make two.
    "three ids, two differing in case": (_quoting("0.a", "0.B", "0.b"), "it quotes two incident ids, 0.a and 0.b"),
    "two ids, one JSON-escaped": (_spelled("0.a", "0.\\u0062"), "it quotes two incident ids, 0.a and 0.b"),
    # A key whose value is no string an id could be is a value of no id's shape, never skipped: it may be the own.
    "an id and a null one": (_spelled("0.a", values=("null",)), "its incident id could not be read"),
    "an id and a number": (_spelled("0.a", values=("12",)), "its incident id could not be read"),
    "an id and one past an id's bound": (_spelled("0.a", "0." + "b" * 800), "its incident id could not be read"),
    # Inside a summary's string an id's own escape is escaped once more (`\\u0062`): read through both, it is 0.b.
    "an id and one escaped inside a summary": (_quoting("0.a", "0.\\u0062"), "it quotes two incident ids, 0.a and 0.b"),
    # More different values than a scan reads (1,000) stop it: the ids found so far are said as at least.
    "ids among 1,500 values of no id's shape": (_quoting("0.a", "0.b", *(f"not id {i}" for i in range(1_500))),
                                               "it quotes at least 2 incident ids, the first 0.a"),
}


@pytest.mark.parametrize("text, said", QUOTED_IDS.values(), ids=QUOTED_IDS.keys())
def test_a_rejected_alert_past_the_pipelines_bound_quoting_several_ids_names_them(text, said, monkeypatch):
    """Past the bound the message is searched, not parsed, so the notification's own id cannot be told from one its
    text quotes: no incident labels the outcome (precision), but the words name the ids found, both or the first and
    how many, so that the person paged can find the incident. Before, they named none."""
    from shared.alerts.received import named

    event_data = _large(text)
    content = received(event_data)
    _bounded(monkeypatch)
    words = named(content, "incident", event_data)
    assert words.incident_id is None and said in words.words, words.words[:400]
    assert "find it by its Pub/Sub message id '49'" in words.words
    assert "ya29" not in words.words.lower(), words.words[:400]


# (the text; the incident named; the policy named)
SPELLED_IDS = {
    "in two cases": (_spelled("0.ABC", "0.abc"), "0.abc", None),
    "with whitespace around": (_spelled(" 0.abc", "0.abc\\n"), "0.abc", None),
    "JSON-escaped": (_spelled("0.abc", "0.\\u0061bc"), "0.abc", None),
    "a policy JSON-escaped": (_spelled("0.abc", policies=("caf\\u00e9 5xx", "caf\u00e9 5xx")), "0.abc", "café 5xx"),
}


@pytest.mark.parametrize("text, incident, policy", SPELLED_IDS.values(), ids=SPELLED_IDS.keys())
def test_a_rejected_alert_past_the_pipelines_bound_giving_one_id_in_several_spellings_names_it(text, incident, policy,
                                                                                            monkeypatch):
    """An id given twice, in two spellings that read as one id as Runwarden keys it (case, whitespace around, JSON's
    escapes), is one id: the incident is named. Before, two values as found named none."""
    from shared.alerts.received import named

    event_data = _large(text)
    content = received(event_data)
    _bounded(monkeypatch)
    words = named(content, "incident", event_data)
    assert words.incident_id == incident, words.words[:400]
    assert (f"policy '{policy}'" in words.words) if policy else "policy" not in words.words, words.words[:400]
