"""Requests that wait on a Google Cloud API the application calls (its client library's deadline:
google-api-core's "DeadlineExceeded: 504 Deadline Exceeded" and retry "Deadline of 60.0s exceeded",
Java gax's DeadlineExceededException) are not shown to be a connector's under PRIVATE_RANGES_ONLY
egress: "Only private IP ranges are routed through the VPC connector" (Cloud Run Admin v2
VpcAccess.VpcEgress), and Google's APIs answer on public addresses unless the project reaches them
through a private endpoint. So a connector saturated in the same minutes by another service's job
competes and is never scaled alone; under ALL_TRAFFIC, or with errors of reaching the database, its
case is as before."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import LogSignal, classify
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import OLD, PSYCOPG

S = DiagnosisSettings()
PYTHON = "google.api_core.exceptions.DeadlineExceeded: 504 Deadline Exceeded"
RETRY = ("google.api_core.exceptions.RetryError: Deadline of 60.0s exceeded while calling target function, last "
         "exception: 503 failed to connect to all addresses; last error: UNKNOWN: ipv4:142.250.78.202:443: Socket closed")
# The same wait in google-api-core's newer words (google/api_core/retry/retry_base.py build_retry_error).
RETRY_NEW = ("google.api_core.exceptions.RetryError: Timeout of 60.0s exceeded, last exception: 503 failed to connect "
             "to all addresses; last error: UNKNOWN: ipv4:142.250.78.202:443: Socket closed")
JAVA = ("com.google.api.gax.rpc.DeadlineExceededException: io.grpc.StatusRuntimeException: DEADLINE_EXCEEDED: deadline "
        "exceeded after 59.998734120s. [closed=[], open=[[buffered_nanos=31260, remote_addr=firestore.googleapis.com/"
        "142.250.78.202:443]]]")


# Node's google-gax at a call's total timeout (google-gax normalCalls/retries.ts), with and without retries.
NODE_GAX = ("Error: Total timeout of API google.pubsub.v1.Publisher exceeded 60000 milliseconds before any response "
            "was received.\n    at repeat (/app/node_modules/google-gax/build/src/normalCalls/retries.js:66:31)")
NODE_GAX_RETRIED = ("Error: Total timeout of API google.firestore.v1.Firestore exceeded 600000 milliseconds retrying "
                    "error Error: 14 UNAVAILABLE: Connection dropped  before any response was received.")


@pytest.mark.parametrize("text", [PYTHON, RETRY, RETRY_NEW, JAVA, NODE_GAX, NODE_GAX_RETRIED],
                         ids=["api_core", "api_core retry", "api_core retry, newer words", "gax", "node gax",
                              "node gax retried"])
def test_a_google_client_librarys_deadline_is_read(text):
    assert LogSignal.GOOGLE_API_WAIT in classify(text)
    assert LogSignal.DB_CONNECTION not in classify(text)


@pytest.mark.parametrize("text", [
    "rpc error: code = DeadlineExceeded desc = context deadline exceeded",   # any gRPC server, a private one too
    "Error: 4 DEADLINE_EXCEEDED: Deadline exceeded",                        # grpc-js, any server
    "google.api_core.exceptions.NotFound: 404 No document to update",       # an answer, no wait
], ids=["go grpc", "grpc-js", "an answer"])
def test_other_deadlines_and_answers_are_not_a_google_apis_wait(text):
    assert LogSignal.GOOGLE_API_WAIT not in classify(text)


def hang_on_google_api(egress: str | None = "PRIVATE_RANGES_ONLY", text: str = PYTHON, count: int = 20,
                       errors: str = "") -> Evidence:
    """One revision for hours; from -7m its p99 hangs at 60 s (a client library's deadline) and a fifth
    of its requests answer 500; another service's job takes the shared connector to its max with CPU
    90% from -8m; Cloud SQL up; `count` lines of `text` and 20 of `errors` from -6m."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,), egress=egress).traffic(**{OLD: 100})
         .requests(OLD, -90, 5, 200).requests(OLD, -7, 5, 50, code="500").latency(OLD, -90, -7, 0.2)
         .latency(OLD, -7, 5, 60.2).sql_up(-90, 5, 1).connector(max_instances=3)
         .connector_metric("instances", -90, -8, 2).connector_metric("instances", -8, 5, 3)
         .connector_metric("cpu", -90, -8, 0.2).connector_metric("cpu", -8, 5, 0.9)
         .connector_metric("bytes", -90, 5, 4e6))
    if count:
        e = e.log(-6, text, OLD, count=count)
    return e.log(-6, errors, OLD, count=20) if errors else e


# situation -> the verdict, and the action planned
CASES = {
    "Firestore deadlines, PRIVATE_RANGES_ONLY: not scaled": (dict(), Signature.INCONCLUSIVE, None),
    "the retry's deadline: not scaled": (dict(text=RETRY), Signature.INCONCLUSIVE, None),
    "the retry's deadline in newer words: not scaled": (dict(text=RETRY_NEW), Signature.INCONCLUSIVE, None),
    "Java gax: not scaled": (dict(text=JAVA), Signature.INCONCLUSIVE, None),
    "ALL_TRAFFIC: the calls cross the connector (unchanged)": (
        dict(egress="ALL_TRAFFIC"), Signature.CONNECTOR_SATURATION, "scale_connector"),
    # "If not provided, it defaults to PRIVATE_RANGES_ONLY" (Cloud Run Admin v2 VpcAccess.egress).
    "egress unset: PRIVATE_RANGES_ONLY by the API's default, not scaled": (
        dict(egress=None), Signature.INCONCLUSIVE, None),
    "Node google-gax's total timeout (Pub/Sub): not scaled": (dict(text=NODE_GAX), Signature.INCONCLUSIVE, None),
    "Node google-gax's total timeout, ALL_TRAFFIC: the calls cross the connector (unchanged)": (
        dict(text=NODE_GAX, egress="ALL_TRAFFIC"), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "dial timeouts to the database too: the connector (unchanged)": (
        dict(errors=PSYCOPG), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "four deadlines only: the connector (unchanged)": (
        dict(count=4), Signature.CONNECTOR_SATURATION, "scale_connector"),
}


@pytest.mark.parametrize("shape, signature, action", CASES.values(), ids=CASES.keys())
def test_waits_on_a_google_api_are_not_the_connectors_under_private_ranges_only(shape, signature, action):
    bundle = hang_on_google_api(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    if signature is Signature.INCONCLUSIVE:
        assert "Google Cloud API calls run out their deadline" in result.summary, result.summary
        assert "Private Service Connect" in result.recommendation, result.recommendation
