"""Follow-ups of the rollback target's capacity check (rules/target_capacity.py):

- an unset revision max under both readings: Google's server fills it with 100 (RevisionScaling.
  max_instance_count, "When unspecified, the field is set to the server default value of 100",
  vendor_settings.proto), an older reading gives 0/absent; either way it is Cloud Run's 100, and a lower
  service-level max still binds (connector_saturation's wait for an instance, bad_revision's "are the
  target's 429s Cloud Run's?");
- a rollback held for the target's capacity gives the `gcloud run services update-traffic` line that moves
  only the share it is shown to carry;
- capacity's advice to send traffic back is judged against today's load the same way;
- Cloud Run's "no available instance" refusals the logs show count toward today's load (request_count may
  not count them); retries already in request_count only make it larger, which only holds more."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_bad_revision_target_capacity import _bundle, _deployed
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()
NO_INSTANCE = "The request was aborted because there was no available instance."
THIRD = "backend-00000-old"


def _with_service_max(e: Evidence, service_max: int | None):
    bundle = e.bundle()
    return bundle.model_copy(update={"service": bundle.service.model_copy(
        update={"max_instance_count": service_max})})


# A hang while the serving revision is at a limit: its own (unset read as 0 or as the server's 100: Cloud
# Run's 100 either way) or the service-level one. (the revision's max as read, the service-level max, the
# instances seen, the signature)
WAITING = [
    ("unset read as 0, at the service-level 8", None, 8, 8, Signature.INCONCLUSIVE),
    ("the server's 100 for an unset max, at the service-level 8", 100, 8, 8, Signature.INCONCLUSIVE),
    ("unset read as 0, at Cloud Run's default 100", None, None, 100, Signature.INCONCLUSIVE),
    ("the server's 100, at it", 100, None, 100, Signature.INCONCLUSIVE),
    ("the server's 100, instances to spare under the service-level 20", 100, 20, 8, Signature.CONNECTOR_SATURATION),
    ("unset read as 0, instances to spare", None, None, 8, Signature.CONNECTOR_SATURATION),
]


@pytest.mark.parametrize("why,own,service_max,seen,signature", WAITING, ids=[w[0] for w in WAITING])
def test_a_hang_at_a_limit_is_read_the_same_under_both_readings_of_an_unset_max(why, own, service_max, seen,
                                                                                signature):
    e = (Evidence().revision(OLD, -300, sql=(SQL,), max_instances=own, concurrency=1).traffic(**{OLD: 100})
         .requests(OLD, -90, 5, 40).latency(OLD, -90, -15, 0.5).latency(OLD, -15, 5, 28)
         .instances(OLD, -90, -15, 4).instances(OLD, -15, 5, seen)
         .sql_up(-90, 5, 1).connector(max_instances=3)
         .connector_metric("instances", -90, -16, 2).connector_metric("instances", -16, 5, 3)
         .connector_metric("cpu", -90, -16, 0.3).connector_metric("cpu", -16, 5, 0.92)
         .connector_metric("bytes", -90, 5, 1e6))
    bundle = _with_service_max(e, service_max)

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary


# The revision before refused a share with 429s at the service-level max of 10 before the deploy: its
# 429s are Cloud Run's, it was not clean, whichever way its own unset max is read.
@pytest.mark.parametrize("own", [None, 100], ids=["unset read as 0", "the server's 100"])
def test_a_targets_429s_at_the_service_level_max_are_cloud_runs_under_both_readings(own):
    e = (Evidence().revision(OLD, -300, sql=(SQL,), max_instances=own)
         .revision(NEW, -10, sql=(SQL,), max_instances=own).traffic(**{NEW: 100})
         .requests(OLD, -90, -10, 300).requests(OLD, -90, -10, 15, code="429")
         .instances(OLD, -90, -10, 10)
         .requests(NEW, -10, 5, 200).requests(NEW, -10, 5, 100, code="500")
         .latency(OLD, -90, -10, 0.2).latency(NEW, -10, 5, 0.4))
    bundle = _with_service_max(quiet_connector(e), 10)

    result = diagnose(bundle, S)

    assert result.known_good_revision is None, result.summary
    assert plan(result, bundle, S).action is None


# Held for the target's capacity, the escalation gives the line a person would run: the share the target
# is shown to carry (the most it carried in a minute before, or its limit at the requests each of its
# instances carried), the rest left on the failing revision. (the load, the builder's settings, the line)
COMMANDS = [
    # 75 a minute on each of its 5 instances: 375 of 1,500, 25%.
    ("its limit at its rate", 1500, {}, f"--to-revisions {OLD}=25,{NEW}=75"),
    ("its limit at its rate, 600 a minute", 600, {}, f"--to-revisions {OLD}=62,{NEW}=38"),
    # No rate under MANUAL: the 300 it carried, of 600.
    ("manual, what it carried", 600, {"old_max": 100, "old_conc": 10, "new_conc": 40,
                                      "scaling": {"scaling_mode": "MANUAL", "manual_instance_count": 6}},
     f"--to-revisions {OLD}=50,{NEW}=50"),
]


@pytest.mark.parametrize("why,load,kw,split", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_rollback_held_for_capacity_gives_the_split_a_person_would_run(why, load, kw, split):
    bundle = _bundle(_deployed(load=load, **kw))

    result = diagnose(bundle, S)

    assert result.known_good_revision is None, result.summary
    line = f"gcloud run services update-traffic backend {split} --region=us-central1 --project=demo"
    assert line in result.recommendation, result.recommendation
    assert line in plan(result, bundle, S).reason


def test_with_another_revision_in_the_split_the_share_is_said_in_words_only():
    e = _deployed(load=1500)
    e.revision(THIRD, -400).traffic(**{NEW: 90, THIRD: 10})
    bundle = _bundle(e)

    result = diagnose(bundle, S)

    assert result.known_good_revision is None, result.summary
    assert "gcloud run services update-traffic" not in result.recommendation
    assert "by hand, naming every serving revision's share" in result.no_target_reason


# capacity: the deploy lowered max instances 10 -> 5 and NEW refuses at its 5. The revision before carried
# 400 a minute on its 10 instances (40 each). Sending traffic back is advised only where it is shown to
# carry today's load: 380 a minute it carried already; 1,200 need 30 of its 10.
SEND_BACK = [
    ("today's load under what it carried", 380, True),
    ("today's load three times it", 1200, False),
]


@pytest.mark.parametrize("why,load,advised", SEND_BACK, ids=[s[0] for s in SEND_BACK])
def test_capacitys_advice_to_send_traffic_back_is_judged_against_todays_load(why, load, advised):
    e = (Evidence().revision(OLD, -300, sql=(SQL,), max_instances=10, timeout=60)
         .revision(NEW, -12, sql=(SQL,), max_instances=5, timeout=60).traffic(**{NEW: 100})
         .requests(OLD, -90, -12, 400).instances(OLD, -90, -12, 10).latency(OLD, -90, -12, 0.3)
         .requests(NEW, -12, 5, load * 0.6).requests(NEW, -12, 5, load * 0.4, code="429")
         .instances(NEW, -12, 5, 5).latency(NEW, -12, 5, 0.3))
    bundle = quiet_connector(e).bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.CAPACITY, result.summary
    assert result.recommendation.startswith(f"send traffic back to {OLD}") is advised, result.recommendation
    if not advised:
        assert f"{OLD} is not shown to carry today's load" in result.recommendation
        assert f"--to-revisions {OLD}=33,{NEW}=67" in result.recommendation


# Cloud Run's own refusals the request log shows are load request_count may not count: a deploy that
# lowered requests per instance 80 -> 1 refuses, and the revision before (75 a minute on each of 4 of its
# 5 instances) carries the 300 counted, and 60 turned away in a minute more (5 instances), not 90 more (6).
REFUSED = [
    ("no refusal lines", 0, OLD),
    ("60 refusal lines in a minute: 360 need 5 of its 5", 60, OLD),
    ("90 refusal lines in a minute: 390 need 6 of its 5", 90, None),
]


@pytest.mark.parametrize("why,lines,expected", REFUSED, ids=[r[0] for r in REFUSED])
def test_refusals_the_request_log_shows_are_todays_load_too(why, lines, expected):
    e = (Evidence().revision(OLD, -3000, max_instances=5).revision(NEW, -11, max_instances=5, concurrency=1)
         .traffic(**{NEW: 100}).requests(OLD, -120, -11, 300).instances(OLD, -30, -11, 4)
         .latency(OLD, -120, -11, 0.2)
         .requests(NEW, -11, 5, 225).requests(NEW, -11, 5, 75, code="500").latency(NEW, -11, 5, 9))
    for start, count in ((-6, min(lines, 60)), (-5.5, lines - 60)):   # a second apart, in the minute from -6
        if count > 0:
            e.log(start, NO_INSTANCE, NEW, count=count, log_id="run.googleapis.com/requests", severity="WARNING",
                  status=429)
    bundle = quiet_connector(e).bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert result.known_good_revision == expected, result.summary
    if expected is None:
        assert "'no available instance' request-log lines" in result.no_target_reason


# Retries of the failing revision's errors are in request_count: today's load read as it is, more retries
# only hold more. The same deploy at a rising load: once held, held at every larger one.
def test_a_larger_load_never_turns_a_held_rollback_into_one():
    held = [diagnose(_bundle(_deployed(load=load)), S).known_good_revision is None
            for load in (300, 350, 380, 400, 600, 1500, 3000)]
    assert held == sorted(held), held
