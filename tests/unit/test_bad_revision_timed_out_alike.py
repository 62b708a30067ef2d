"""bad_revision when the new revision's failures are read timeouts of its calls to a partner that the rollback
target met too (rules/timed_out_alike.py): a partner slowing down in the deploy's minutes. Read timeouts are the
caller's own verdict, which new code brings about as well (heavier calls, a shorter timeout): the rollback is held
only when the target's own calls to the same host timed out the same way, before the deploy or beside it, and the
deploy changed neither the host nor a timeout. Read timeouts only the new revision meets, a deploy that shortened
the timeout or moved the host, and a canary beside a revision answered in time still roll back (dial timeouts
are another rule's: bad_revision's _dials_fail_on_the_same_path)."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence, deploy_failing

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")
ESCALATE = (Signature.INCONCLUSIVE, None)


def urllib3(host: str = "api.shiprates.example", timeout: str = "10") -> str:
    """requests' ReadTimeout over urllib3's ReadTimeoutError (urllib3 src/urllib3/connectionpool.py)."""
    return ("Traceback (most recent call last):\n  File \"/app/shipping.py\", line 41, in quote\n"
            "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='" + host + "', port=443): Read timed out. "
            f"(read timeout={timeout})")


SPRING = ('org.springframework.web.client.ResourceAccessException: I/O error on POST request for '
          '"https://api.shiprates.example/v2/quotes": Read timed out')
OWN = "AttributeError: 'NoneType' object has no attribute 'carrier'"
PLAIN = (("SHIPPING_API_URL", "https://api.shiprates.example/v2"), ("SHIPPING_TIMEOUT_SECONDS", "10"))


def deployed(lines, *, old_lines=(), old_at=-9.0, old_plain=PLAIN, new_plain=PLAIN, canary=False) -> Evidence:
    """NEW replaced OLD 6 minutes ago; 59% of its requests fail with `lines` (text, count) at ERROR; OLD logged
    `old_lines` (text, count, severity) at minute `old_at` (before the deploy unless later than -6); with `canary`,
    OLD keeps 90% of the traffic beside it, cleanly."""
    e = deploy_failing(OLD, NEW, lines, old_settings={"plain_env": old_plain}, new_settings={"plain_env": new_plain},
                       canary=canary)
    for text, count, severity in old_lines:
        e.log(old_at, text, OLD, count=count, severity=severity)
    return e


CASES = {
    # The target met the same partner's slowness: held.
    "the target timed out on the same host before the deploy": (((urllib3(), 20),), {"old_lines": ((urllib3(), 3,
                                                                                                    "ERROR"),)},
                                                                 ESCALATE),
    "the target's timeouts logged at WARNING (retried)": (((urllib3(), 20),), {"old_lines": ((urllib3(), 4,
                                                                                              "WARNING"),)}, ESCALATE),
    "Spring's read timeouts, the target's too": (((SPRING, 20),), {"old_lines": ((SPRING, 3, "ERROR"),)}, ESCALATE),
    "timeouts with a few of its own beside": (((urllib3(), 14), (OWN, 6)), {"old_lines": ((urllib3(), 3, "ERROR"),)},
                                              ESCALATE),
    # The deploy's: rolled back.
    "only the new revision times out": (((urllib3(), 20),), {}, ROLLBACK),
    "the target timed out twice only": (((urllib3(), 20),), {"old_lines": ((urllib3(), 2, "ERROR"),)}, ROLLBACK),
    "the target timed out long before (outside the minutes before the deploy)": (
        ((urllib3(), 20),), {"old_lines": ((urllib3(), 3, "ERROR"),), "old_at": -40.0}, ROLLBACK),
    "the target timed out on another host": (((urllib3(), 20),), {"old_lines": ((urllib3("api.other.example"), 3,
                                                                                 "ERROR"),)}, ROLLBACK),
    "the deploy shortened the timeout (env and quoted)": (
        ((urllib3(timeout="2"), 20),), {"old_lines": ((urllib3(), 3, "ERROR"),),
                                        "new_plain": (PLAIN[0], ("SHIPPING_TIMEOUT_SECONDS", "2"))}, ROLLBACK),
    "the deploy shortened the timeout (quoted only)": (((urllib3(timeout="2"), 20),),
                                                       {"old_lines": ((urllib3(), 3, "ERROR"),)}, ROLLBACK),
    "the deploy changed a timeout setting (Spring, env only)": (
        ((SPRING, 20),), {"old_lines": ((SPRING, 3, "ERROR"),),
                          "new_plain": (PLAIN[0], ("SHIPPING_TIMEOUT_SECONDS", "3"))}, ROLLBACK),
    "a canary timing out, the revision at 90% answered in time": (
        ((urllib3(), 20),), {"old_lines": ((urllib3(), 3, "ERROR"),), "canary": True}, ROLLBACK),
    "a canary timing out, the revision at 90% timing out on a few of its many calls": (
        ((urllib3(), 20),), {"old_lines": ((urllib3(), 3, "ERROR"),), "old_at": -5.0, "canary": True}, ROLLBACK),
    "a canary timing out, the revision at 90% timing out as much": (
        ((urllib3(), 20),), {"old_lines": ((urllib3(), 60, "WARNING"),), "old_at": -5.0, "canary": True}, ESCALATE),
    "its own failures outnumber the timeouts": (((urllib3(), 5), (OWN, 15)), {"old_lines": ((urllib3(), 3,
                                                                                             "ERROR"),)}, ROLLBACK),
}


@pytest.mark.parametrize("lines, kwargs, expected", CASES.values(), ids=CASES.keys())
def test_a_rollback_to_a_revision_timing_out_on_the_same_partner_is_held(lines, kwargs, expected):
    e = deployed(lines, **kwargs)
    result = diagnose(e.bundle(), S)
    assert (result.signature, plan(result, e.bundle(), S).action) == expected, result.summary


def test_the_deploy_moved_the_host_the_new_revision_times_out_on():
    """The target timed out on the old host; the new revision on a host only its env names: the deploy's."""
    moved = (("SHIPPING_API_URL", "https://api-v3.shiprates.example/v2"), PLAIN[1])
    e = deployed(((urllib3("api-v3.shiprates.example"), 20),), old_lines=((urllib3(), 3, "ERROR"),),
                 new_plain=moved)
    result = diagnose(e.bundle(), S)
    assert (result.signature, plan(result, e.bundle(), S).action) == ROLLBACK, result.summary


def test_the_escalation_names_the_host_both_time_out_on_and_the_rollback_held():
    result = diagnose(deployed(((urllib3(), 20),), old_lines=((urllib3(), 3, "ERROR"),)).bundle(), S)
    assert "read timeouts of its calls to api.shiprates.example" in result.summary, result.summary
    assert f"{OLD}, the rollback target, timed out reading from the same host 3 times" in result.summary
    assert f"before {NEW}'s deploy" in result.summary and "a rollback to " + OLD in result.summary, result.summary


def test_the_minute_the_traffic_moved_is_no_partner_answering_the_old_revision_in_time():
    """The old revision served 40 clean requests in the minute the traffic moved, three minutes before the new
    one's first read timeout: nothing of the minutes the timeouts came in. Its own timeouts to the same partner
    before the deploy then stand, and the answer is the one without that minute (Facts.since_first_of); before,
    that minute read as the partner answering it in time, and the new revision was rolled back."""
    answers = []
    for moved in (False, True):
        e = deployed((), old_lines=((urllib3(), 3, "ERROR"),))
        if moved:
            e.requests(OLD, -6, -5, 40).latency(OLD, -6, -5, 0.2)
        e.log(-3, urllib3(), NEW, count=20)
        result = diagnose(e.bundle(), S)
        answers.append((result.signature, plan(result, e.bundle(), S).action))
    assert answers[1] == answers[0] and answers[1][1] is None, answers
