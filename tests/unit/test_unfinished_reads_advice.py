"""What the escalation tells a person to do about each read that did not finish (shared/diagnosis/unfinished.py).

Each kind asks something else: a read cut short at its 30 s was answering (read again a few minutes at a time), a
read that never answered by the alert's last delivery met a failing API (read again once it answers), a Monitoring
answer with execution errors may lack a series (read again, check each series). Each names the read and where to read
it by hand over the minutes it asked for (EvidenceBundle.by_hand: the Logs Explorer query, the Metrics Explorer
filter). Before, every kind got the same "run them again over a narrower time range", naming no read and no query.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.collection import by_hand, connector_by_hand
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import MetricQuery

from tests.unit.builders import Evidence
from tests.unit.test_health_bar import _serving
from tests.unit.test_incomplete_reads import AUDIT, LOGS, SQL_CPU, _healthy
from tests.unit.test_unread_logs_rule_outs import _deploy_failing

S = DiagnosisSettings()
START, END = datetime(2026, 11, 26, 11, 45, tzinfo=timezone.utc), datetime(2026, 11, 26, 12, 2, tzinfo=timezone.utc)
LOG_QUERY = 'resource.type="cloud_run_revision" AND timestamp>="2026-11-26T11:45:00Z"'
LOGS_HINT = by_hand("demo", START, END, log_filter=LOG_QUERY)
CPU_QUERY = MetricQuery(project="demo", metric_type="cloudsql.googleapis.com/database/cpu/utilization",
                        resource_type="cloudsql_database", labels={"resource.labels.database_id": "demo:pg"},
                        start=START, end=END, aligner="ALIGN_MAX", reducer="REDUCE_MAX")
CPU_HINT = by_hand("demo", START, END, query=CPU_QUERY)
UNANSWERED_AUDIT = ("logging: audit log: no answer by the alert's last delivery (delivery.max_attempts), not used as "
                    "evidence: ListLogEntries projects/demo: ServiceUnavailable: 503 ListLogEntries")
REQUESTS_CUT = ("monitoring: run request_count: ListTimeSeries run.googleapis.com/request_count: the read had not "
                "finished when its 30 s ran out: 4 page(s) read (9 series parts), and Monitoring still gave a "
                "next_page_token [...]; the answer is incomplete and not used as evidence")

# (the bundle, a read that did not finish, where to read it by hand) -> what the recommendation must say
CASES = {
    "a log search cut short: a few minutes at a time, its Logs Explorer query": dict(
        build=_healthy, read=LOGS, hint=LOGS_HINT,
        said=("logging: application and system log: it was still answering when its time ran out: run it again a "
              "few minutes at a time", "in Logs Explorer (project demo), from 2026-11-26 11:45 to 12:02 UTC, this "
              f"query: {LOG_QUERY}")),
    "a search that never answered by the last delivery: again once the API answers": dict(
        build=lambda: _deploy_failing().bundle(), read=UNANSWERED_AUDIT, hint=LOGS_HINT,
        said=("logging: audit log: it never answered by the alert's last delivery", "run it again once the API "
              "answers", "in Logs Explorer (project demo)")),
    "a Monitoring answer with execution errors: check each series, its Metrics Explorer filter": dict(
        build=_healthy, read=SQL_CPU, hint=CPU_HINT,
        said=("monitoring: cloudsql database/cpu/utilization: Monitoring answered it with execution errors",
              'in Metrics Explorer (project demo), from 2026-11-26 11:45 to 12:02 UTC: cloudsql.googleapis.com/'
              'database/cpu/utilization on cloudsql_database, resource.labels.database_id = "demo:pg"',
              'metric.type = "cloudsql.googleapis.com/database/cpu/utilization" AND resource.type = '
              '"cloudsql_database" AND resource.labels.database_id = "demo:pg"')),
    "a metric read cut short: a few minutes at a time": dict(
        build=lambda: _deploy_failing().bundle(), read=REQUESTS_CUT, hint="",
        said=("monitoring: run request_count: it was still answering when its time ran out",)),
    "a read of an unknown kind, no hint: named and read again": dict(
        build=_healthy, read="logging: audit log: something else", hint="", said=("logging: audit log: run it again",)),
    "an escalation already (too little traffic): its recommendation says what to do too": dict(
        build=lambda: _serving(Evidence(), error_per_minute=0).bundle().model_copy(update={"requests": None}),
        read=SQL_CPU, hint=CPU_HINT, said=("monitoring: cloudsql database/cpu/utilization: Monitoring answered it "
                                           "with execution errors", "in Metrics Explorer (project demo)")),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_unfinished_read_is_named_with_what_to_do_and_where(case):
    bundle = case["build"]()
    bundle = bundle.model_copy(update={"gaps": bundle.gaps + (case["read"],), "incomplete_reads": (case["read"],),
                                       "by_hand": (case["hint"],)})
    d = diagnose(bundle, S)
    for said in case["said"]:
        assert said in d.recommendation, d.recommendation


def test_a_connector_read_by_hand_is_gclouds_describe():
    assert connector_by_hand("projects/p/locations/europe-west1/connectors/c1") == \
        "gcloud compute networks vpc-access connectors describe c1 --region europe-west1 --project p"
    assert connector_by_hand("c1") == ""
