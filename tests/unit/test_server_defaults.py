"""A revision's unset limits and the defaults Google's server may write in their place are one value.

The Cloud Run API answers an unset max instances with 100 ("When unspecified, the field is set to the server
default value of 100", RevisionScaling.max_instance_count, vendor_settings.proto); whether it writes the request
timeout's 300 s and the concurrency's default (80, or 1 under one CPU: RevisionTemplate.max_instance_request_
concurrency, revision_template.proto) into the revision it answers is UNCONFIRMED. So every diagnosis must be the
same under both readings: each case's bundle is diagnosed with its revisions' limits unset (None) and with the
server's defaults filled in, and the two diagnoses must be equal. Pure: no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import EvidenceBundle, Revision
from shared.diagnosis.rules.deploy_changes import max_instances, requests_per_instance
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_database_refusals import OLD, NEW, TOO_MANY, quiet
from tests.unit.test_proxy_connection_limit import deploy_with

S = DiagnosisSettings()


def _revision(concurrency: int | None = None, cpu: float | None = None, max_count: int | None = None) -> Revision:
    from datetime import datetime, timezone
    return Revision(name="projects/p/locations/l/services/s/revisions/s-1", service="projects/p/locations/l/services/s",
                    create_time=datetime(2026, 12, 1, tzinfo=timezone.utc), container_concurrency=concurrency,
                    cpu_limit=cpu, max_instance_count=max_count)


@pytest.mark.parametrize("concurrency, cpu, expected", [
    (None, None, 80),      # CPU not read: Cloud Run's default of 1 CPU
    (None, 1.0, 80),
    (None, 2.0, 80),
    (None, 0.5, 1),        # "defaults to 1 when requested CPU < 1"
    (None, 0.08, 1),
    (0, 0.5, 1),           # 0 is unset ("If not specified or 0")
    (40, 0.5, 40),         # set: as read
    (250, None, 250),
])
def test_requests_per_instance_is_the_set_value_or_cloud_runs_default_for_the_cpu(concurrency, cpu, expected):
    assert requests_per_instance(_revision(concurrency, cpu)) == expected


@pytest.mark.parametrize("max_count, expected", [(None, 100), (0, 100), (100, 100), (7, 7)])
def test_max_instances_is_the_set_value_or_cloud_runs_default(max_count, expected):
    assert max_instances(_revision(max_count=max_count)) == expected


def _unset(revision: Revision) -> Revision:
    """The reading where the server leaves what was not set unset: the default's value is read as unset."""
    return revision.model_copy(update={
        "timeout_seconds": None if revision.timeout_seconds == 300 else revision.timeout_seconds,
        "container_concurrency": (None if revision.container_concurrency == requests_per_instance(
            revision.model_copy(update={"container_concurrency": None})) else revision.container_concurrency),
        "max_instance_count": None if revision.max_instance_count == 100 else revision.max_instance_count})


def _filled(revision: Revision) -> Revision:
    """The reading where the server writes its defaults into what was not set."""
    return revision.model_copy(update={"timeout_seconds": revision.timeout_seconds or 300.0,
                                       "container_concurrency": requests_per_instance(revision),
                                       "max_instance_count": max_instances(revision)})


def _read(bundle: EvidenceBundle, reading) -> EvidenceBundle:
    return bundle.model_copy(update={"revisions": tuple(reading(r) for r in bundle.revisions)})


def _raised_max(old: int | None, new: int | None) -> Evidence:
    """The connection limit right after a deploy from OLD (max instances `old`) to NEW (`new`)."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,), max_instances=old).revision(NEW, -8, sql=(SQL,), max_instances=new)
         .traffic(**{NEW: 100}).requests(OLD, -90, -8, 40).latency(OLD, -90, -8, 0.2)
         .requests(NEW, -8, 5, 14).requests(NEW, -8, 5, 20, code="500").latency(NEW, -8, 5, 0.4))
    return quiet(e).log(-6, TOO_MANY, NEW, count=20)


# case -> (evidence, the signature, the planned action, words the summary must hold under both readings).
CASES = {
    "the proxy's limit, concurrency unset before and 200 after: raised from 80": (
        deploy_with(None, 200), Signature.BAD_REVISION, "rollback_traffic", "requests per instance from 80 to 200"),
    "the proxy's limit, concurrency 20 before and unset after: raised to 80": (
        deploy_with(20, None), Signature.BAD_REVISION, "rollback_traffic", "requests per instance from 20 to 80"),
    "the proxy's limit, concurrency unset on both: unchanged": (
        deploy_with(None, None), Signature.INCONCLUSIVE, None, ""),
    "the proxy's limit, concurrency unset before and 80 after: unchanged": (
        deploy_with(None, 80), Signature.INCONCLUSIVE, None, ""),
    "the connection limit, max instances unset before and 400 after: raised from 100": (
        _raised_max(None, 400), None, None, "raised max instances from 100 (backend-00001-abc) to 400"),
    "the connection limit, max instances 10 before and unset after: raised to 100": (
        _raised_max(10, None), None, None, "raised max instances from 10 (backend-00001-abc) to 100"),
    "the connection limit, max instances unset on both: no raise said": (
        _raised_max(None, None), None, None, ""),
}


@pytest.mark.parametrize("evidence, signature, action, words", CASES.values(), ids=CASES.keys())
def test_a_diagnosis_is_the_same_whether_the_server_fills_its_defaults_or_not(evidence, signature, action, words):
    bundle = evidence.bundle()
    unset, filled = _read(bundle, _unset), _read(bundle, _filled)
    as_unset, as_filled = diagnose(unset, S), diagnose(filled, S)

    assert as_unset.model_dump(mode="json") == as_filled.model_dump(mode="json"), (as_unset.summary, as_filled.summary)
    assert plan(as_unset, unset, S).action == plan(as_filled, filled, S).action == action, as_unset.summary
    if signature is not None:
        assert as_unset.signature is signature, as_unset.summary
    if words:
        assert words in as_unset.summary, as_unset.summary
    else:
        assert "raised max instances" not in as_unset.summary and "runs at once from" not in as_unset.summary
