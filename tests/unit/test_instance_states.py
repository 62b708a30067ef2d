"""The Cloud SQL instance's state, as the Admin API's answers to the connectors can show it, said only as
far as each answer proves. The 400 "Invalid request since instance is not running" is an instance that does
not run: stopped by its owner (state RUNNABLE with activation policy NEVER), suspended (billing, a policy),
or still being created. The 409 invalidState "The instance or operation is not in an appropriate state to
handle the request." is wider: the instance is stopped, suspended, down for maintenance, or being changed by
an operation in progress, so it is never said to be "not running". Each names the two checks that tell the
states apart (the instance's state and activation policy; its operations). Either way no connection is
dialled and the database never answered: the lead names the Admin API, and a saturated connector beside it
is never scaled."""
from __future__ import annotations

import pytest

from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import refusal_of
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_database_refusals import OLD, S, TOO_MANY, newly_saturated, serving

_409 = "The instance or operation is not in an appropriate state to handle the request."
INVALID_STATE_METADATA = ('[shop-prod:us-central1:orders-db] failed to connect to instance: failed to get instance: '
                          'Refresh error: failed to get instance metadata (connection name = '
                          f'"shop-prod:us-central1:orders-db"): googleapi: Error 409: {_409}, invalidState')
INVALID_STATE_CERT = ('[shop-prod:us-central1:orders-db] failed to connect to instance: failed to get instance: '
                      'Refresh error: create ephemeral cert failed (connection name = "shop-prod:us-central1:orders-db"'
                      f'): fetch ephemeral cert failed: googleapi: Error 409: {_409}, invalidState')
INVALID_STATE_PY = (f"aiohttp.client_exceptions.ClientResponseError: 409, message='{_409}', url='https://sqladmin."
                    "googleapis.com/sql/v1beta4/projects/shop-prod/instances/orders-db/connectSettings'")
NOT_RUNNING = ('failed to get instance: Refresh error: failed to get instance metadata (connection name = '
               '"shop-prod:us-central1:orders-db"): googleapi: Error 400: Invalid request: Invalid request since '
               'instance is not running., invalid')

# What each answer's refusal says, and what it must not claim.
SAID = {
    **{f"409 invalidState, {name}: not in a state to hand out certificates, never 'not running'": dict(
        text=text, said=("not in a state", "stopped", "suspended", "maintenance", "operation in progress"),
        not_said=("not running",))
       for name, text in (("Go connector's metadata call", INVALID_STATE_METADATA),
                          ("Go connector's certificate call", INVALID_STATE_CERT),
                          ("Python connector", INVALID_STATE_PY))},
    "400 not running: stopped, suspended or still being created, never maintenance": dict(
        text=NOT_RUNNING, said=("not running", "stopped", "suspended", "being created"),
        not_said=("maintenance", "operation in progress")),
}


@pytest.mark.parametrize("case", SAID.values(), ids=SAID.keys())
def test_what_each_answer_proves(case):
    refusal = refusal_of(case["text"])
    assert all(word in refusal for word in case["said"]), refusal
    assert not any(word in refusal for word in case["not_said"]), refusal


# The checks that tell the states apart, in the recommendation; and the lead, which names the Admin API.
# The instance's state field never reads STOPPED: "RUNNABLE: The instance is running, or has been stopped by
# owner." (Cloud SQL Admin API v1, DatabaseInstance.SqlInstanceState).
CHECKS = ("--format='value(state,settings.activationpolicy,suspensionreason)'", "gcloud sql operations list --instance",
          "runnable with activation policy never", "suspended")
INCIDENTS = {
    **{f"{name} beside a newly saturated connector: escalated, the state checks named, the Admin API led": dict(
        texts=(text,), said=CHECKS + extra, not_said=("the database refuses", "stopped or suspended,"))
       for name, text, extra in (
           ("409 from the Go connector", INVALID_STATE_METADATA, ("maintenance", "operation in progress")),
           ("409 from the Python connector", INVALID_STATE_PY, ("maintenance", "operation in progress")),
           ("400 from the Go connector", NOT_RUNNING, ("being created",)))},
    "409 beside the database's own refusal: both are led, neither alone": dict(
        texts=(INVALID_STATE_METADATA, TOO_MANY), said=("the database, or the cloud sql admin api",),
        not_said=("the database refuses the application",)),
}


@pytest.mark.parametrize("case", INCIDENTS.values(), ids=INCIDENTS.keys())
def test_the_instance_state_in_the_summary_and_the_checks(case):
    e = newly_saturated(serving(Evidence(), code="503"))
    for text in case["texts"]:
        e = e.log(-5, text, OLD, count=25)
    bundle = e.bundle()
    result = diagnose(bundle, S)
    said = (result.summary + " " + result.recommendation).lower()
    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    assert plan(result, bundle, S).action is None
    assert all(word in said for word in case["said"]), said
    assert not any(word in said for word in case["not_said"]), said


def test_one_wording_per_state():
    from shared.diagnosis.log_signals import INSTANCE_STATES
    # Every state the Admin API's answers can show has its words and how a person tells it; none alike.
    assert {"stopped", "suspended", "maintenance", "operation", "creating"} <= set(INSTANCE_STATES)
    assert len({state.meaning for state in INSTANCE_STATES.values()}) == len(INSTANCE_STATES)
    assert all(state.seen_as and state.meaning for state in INSTANCE_STATES.values())
