"""Notifications with very long and non-ASCII names: every answer still leaves.

A notification is at most 256 KiB (shared/alerts/incidents.py), and its resource labels, policy and
condition names are whatever the alert's source wrote: a log-match alert's resource labels are the
log entry's, which its writer sets (LogEntry.resource, Cloud Logging API). What Runwarden builds of
them must stay within the limits of where it goes: a Pub/Sub attribute value is at most 1024 bytes
(Pub/Sub, "Quotas and limits"; shared/outcomes.py), and one over it refuses the whole outcome, so
the answer never left, was delivered again and again and given up on with the same refused target.
In-process parts (tests/property/fast.py) through the pipeline's own entry point; the in-process
publisher refuses what Pub/Sub refuses (the emulator checks none of it)."""
from __future__ import annotations

import copy
import io
import json

import pytest

from sandbox.inprocess import InProcessPublisher
from shared.alerts.incidents import MAX_NOTIFICATION_BYTES
from shared.errors import PermanentError
from shared.outcomes import MAX_ATTRIBUTE_VALUE_BYTES, Outcome, OutcomeStatus, Timestamps, notify_severity
from shared.pipeline import handle_alert
from shared.timeline.writer import MAX_LINE_BYTES, WRITER, Timeline
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

LONG_NAMES = {
    "ascii, 2,000 characters": "svc-" + "a" * 2000,
    "CJK, 3 bytes each": "服务" * 400,
    "emoji, 4 bytes each": "🚨" * 300,
    "at the limit": "b" * MAX_ATTRIBUTE_VALUE_BYTES,
    "one byte over": "c" * (MAX_ATTRIBUTE_VALUE_BYTES + 1),
}


@pytest.mark.parametrize("name", LONG_NAMES.values(), ids=LONG_NAMES.keys())
def test_every_attribute_of_an_outcome_stays_within_pubsubs_limit(name):
    outcome = Outcome(status=OutcomeStatus.SKIPPED, target=f"projects/p/locations/r/services/{name}",
                      command_id=None, timestamps=Timestamps(received_at=ANCHOR))
    attributes = outcome.attributes()
    assert all(len(v.encode()) <= MAX_ATTRIBUTE_VALUE_BYTES for v in attributes.values()), attributes
    whole = len(name.encode()) <= MAX_ATTRIBUTE_VALUE_BYTES
    assert (attributes["service"] == name) is whole
    assert whole or (attributes["service"].endswith("...") and name.startswith(attributes["service"][:-3]))


def test_the_in_process_publisher_refuses_what_pubsub_refuses():
    publisher = InProcessPublisher()
    with pytest.raises(PermanentError, match="1024-byte limit"):
        publisher.publish("t", b"{}", {"service": "x" * (MAX_ATTRIBUTE_VALUE_BYTES + 1)})
    assert publisher.publish("t", b"{}", {"service": "x" * MAX_ATTRIBUTE_VALUE_BYTES}) == "1"


@pytest.mark.parametrize("name", [LONG_NAMES["ascii, 2,000 characters"], LONG_NAMES["emoji, 4 bytes each"], "a/b"],
                         ids=["ascii", "emoji", "a slash"])
def test_an_alert_whose_service_name_is_no_resource_id_is_rejected_and_paged(name):
    """Before, it was `skipped` as "not a managed service" (nobody hears of a skip), and a name longer
    than an attribute was not even that: its outcome was refused by Pub/Sub."""
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    document["incident"]["resource"]["labels"]["service_name"] = name
    document["incident"]["policy_name"] = "политика " + "ü" * 3000

    outcome = handle_alert(event(json.dumps(document).encode(), "1"), world.config, world.adapters)

    assert outcome.status is OutcomeStatus.REJECTED and notify_severity(outcome) is not None, outcome.reason
    assert "label service_name" in outcome.reason and "is no Google Cloud resource id" in outcome.reason
    assert len(outcome.reason) < 1000, outcome.reason    # the names quoted, cut
    [(_, data, attributes)] = world.publisher.messages
    assert json.loads(data)["status"] == "rejected"
    assert all(len(v.encode()) <= MAX_ATTRIBUTE_VALUE_BYTES for v in attributes.values())


# --- a timeline line stays one Cloud Logging entry ------------------------------------------------------

def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("filler", ["x", "服", "🚨"], ids=["ascii", "cjk", "emoji"])
def test_a_step_too_long_for_a_log_entry_is_cut_and_keeps_what_its_filters_read(filler):
    stream = io.StringIO()
    Timeline("0.abc", stream=stream).step("notify", "policy " + filler * 60_000, severity="WARNING",
                                          extra_labels={"runwarden_status": "rejected"},
                                          resource={"service_name": filler * 150_000}, status="rejected")
    [text] = stream.getvalue().splitlines()
    assert len(text.encode()) <= MAX_LINE_BYTES
    line = json.loads(text)
    assert line["severity"] == "WARNING" and line["logging.googleapis.com/labels"] == {
        "runwarden_step": "notify", "runwarden_trigger": "alert", "runwarden_status": "rejected",
        "runwarden_incident": "0.abc"}
    assert line["runwarden"]["step"] == "notify" and line["runwarden"]["incident_id"] == "0.abc"
    assert line["runwarden"]["writer"] == WRITER   # the timeline groups a writer's lines to check its clock
    assert line["message"].startswith("policy " + filler) and "[cut: 60007 characters in all]" in line["message"]
    assert "over the" in line["runwarden"]["line_cut"] and "[cut:" in line["runwarden"]["details"]


def test_a_step_within_the_limit_is_written_as_it_was():
    stream = io.StringIO()
    Timeline("0.abc", stream=stream).step("received", "alert", resource={"service_name": "api"})
    assert json.loads(stream.getvalue())["runwarden"] == {"step": "received", "incident_id": "0.abc", "writer": WRITER,
                                                          "resource": {"service_name": "api"}}


def test_a_notification_of_long_non_ascii_labels_writes_every_line_within_a_log_entry(capsys):
    """Labels that fill the notification (under its 256 KiB): the `received` step carries them, and the
    rejection pages a person (a `notify` line); each must stay one log entry."""
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    labels = document["incident"]["resource"]["labels"]
    labels["service_name"] = "服务" * 30_000                   # 180,000 bytes of UTF-8, 360,000 escaped
    document["incident"]["policy_name"] = "🚨" * 2_000

    data = json.dumps(document, ensure_ascii=False).encode()
    assert len(data) <= MAX_NOTIFICATION_BYTES

    outcome = handle_alert(event(data, "1"), world.config, world.adapters)

    assert outcome.status is OutcomeStatus.REJECTED and "is no Google Cloud resource id" in outcome.reason, outcome.reason
    written = capsys.readouterr().out
    assert all(len(line.encode()) <= MAX_LINE_BYTES for line in written.splitlines())
    steps = [line["runwarden"]["step"] for line in _lines(written)]
    assert "received" in steps and "notify" in steps, steps
