"""Which uptime check alerts state a failure of the service and may be judged `healthy`: a certificate running
out (uptime_check/time_until_ssl_cert_expires) is neither, while check_passed and request_latency alerts are read
as before. Before, a certificate alert was judged as a check_passed one: with the check passing it was `healthy`
and skipped, no person told, and during a deploy's failure it was acted on with a rollback. Pure, no I/O."""
from __future__ import annotations

import copy

import pytest

from shared.alerts.incidents import parse_notification
from shared.alerts.present_failure import unstated_failure
from shared.config import DiagnosisSettings
from shared.diagnosis.health_bar import health_bar
from tests.unit.test_healthy_uptime_probes import LATENCY, PASSED
from tests.unit.test_present_failure import SAMPLE

S = DiagnosisSettings()
UPTIME = "monitoring.googleapis.com/uptime_check/"
HOST = "www.example-shop.com"
EXPIRES = PASSED.model_copy(update={"metric_type": UPTIME + "time_until_ssl_cert_expires", "threshold": 15,
                                    "policy": "storefront certificate"})


def _uptime(metric: str, comparison: str, threshold: str, observed: str) -> str:
    """An uptime check's notification (the documented schema-1.2 example on resource uptime_url) of `metric`."""
    data = copy.deepcopy(SAMPLE)
    incident = data["incident"]
    incident.update(state="open", ended_at=None, threshold_value=threshold, observed_value=observed)
    incident["metric"] = {"type": UPTIME + metric, "labels": {"check_id": "storefront-uptime-2b7e"}}
    incident["resource"] = {"type": "uptime_url", "labels": {"project_id": "example-shop", "host": HOST}}
    condition = incident["condition"]
    condition["conditionThreshold"] = {"filter": f'metric.type="{UPTIME}{metric}" AND resource.type="uptime_url"',
                                       "comparison": comparison, "thresholdValue": float(threshold)}
    return unstated_failure(parse_notification(data))


HOLDS = [
    # name, notification's hold, words in it ("" for no hold)
    ("a certificate with 12.4 days left, under 15: no present failure, nothing written",
     lambda: _uptime("time_until_ssl_cert_expires", "COMPARISON_LT", "15", "12.4"), "12.4 days left"),
    ("the same names the host whose certificate it is",
     lambda: _uptime("time_until_ssl_cert_expires", "COMPARISON_LT", "15", "12.4"), HOST),
    ("control: the check failing (check_passed under 1): a present failure",
     lambda: _uptime("check_passed", "COMPARISON_LT", "1", "0"), ""),
    ("control: the check's probes slow (request_latency over 5000): a present failure",
     lambda: _uptime("request_latency", "COMPARISON_GT", "5000", "7200"), ""),
]


@pytest.mark.parametrize("name,hold,words", HOLDS, ids=[c[0] for c in HOLDS])
def test_a_certificate_running_out_holds_every_write(name, hold, words):
    said = hold()
    assert (said != "") is bool(words) and words in said, said


BARS = [
    # name, alert, judged
    ("a certificate running out: never judged healthy", EXPIRES, False),
    ("control: check_passed: judged (on the check's results and the service's requests)", PASSED, True),
    ("control: request_latency: judged", LATENCY, True),
]


@pytest.mark.parametrize("name,alert,judged", BARS, ids=[c[0] for c in BARS])
def test_a_certificate_alert_is_not_judged_healthy(name, alert, judged):
    bar = health_bar(alert, S)
    assert bar.judged is judged, bar.why_not
    assert judged or "time_until_ssl_cert_expires" in bar.why_not
