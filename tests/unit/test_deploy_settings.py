"""What a deploy changed in the settings that decide what the evidence means: min instances
(RevisionScaling.min_instance_count), startup CPU boost (ResourceRequirements.startup_cpu_boost), session
affinity and the execution environment (Revision.session_affinity, .execution_environment), beside the
request timeout, max instances, requests per instance and the container's resources. Each is named with
its before and after; those that leave the same load fewer instances ready are told apart."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.diagnosis.evidence import Revision
from shared.diagnosis.rules.deploy_changes import scaling_tightened, settings_changed

SERVICE = "projects/p/locations/us-central1/services/backend"


def _revision(name: str, **settings) -> Revision:
    return Revision(name=f"{SERVICE}/revisions/{name}", service=SERVICE,
                    create_time=datetime(2026, 12, 1, tzinfo=timezone.utc), **settings)


# before's settings, after's settings -> settings_changed's words, scaling_tightened's words
CASES = {
    "nothing changed": ({}, {}, [], []),
    "min instances 5 to 0": (dict(min_instance_count=5), {}, ["min instances from 5 to 0"],
                             ["min instances lowered from 5 to 0"]),
    "min instances 0 to 3: raised, not tightened": ({}, dict(min_instance_count=3), ["min instances from 0 to 3"], []),
    "startup CPU boost turned off": (dict(startup_cpu_boost=True), {}, ["startup CPU boost from on to off"],
                                     ["startup CPU boost turned off"]),
    "startup CPU boost turned on": ({}, dict(startup_cpu_boost=True), ["startup CPU boost from off to on"], []),
    "session affinity turned on": ({}, dict(session_affinity=True), ["session affinity from off to on"], []),
    "gen1 to gen2": (dict(execution_environment="GEN1"), dict(execution_environment="GEN2"),
                     ["execution environment from gen1 to gen2"], []),
    "unspecified to gen2: Cloud Run's own choice before, not compared": (
        {}, dict(execution_environment="GEN2"), [], []),
    "CPU allocation to only during requests": (dict(cpu_idle=False), dict(cpu_idle=True),
                                               ["CPU allocation from always allocated to only during requests"], []),
    "requests per instance 80 to 1 with min instances 4 to 1": (
        dict(container_concurrency=80, min_instance_count=4), dict(container_concurrency=1, min_instance_count=1),
        ["requests per instance from 80 to 1", "min instances from 4 to 1"],
        ["requests per instance lowered from 80 to 1", "min instances lowered from 4 to 1"]),
    "request timeout 300 s to 30 s": (dict(timeout_seconds=300), dict(timeout_seconds=30),
                                      ["request timeout from 300 s to 30 s"], []),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_deploys_settings_are_named_with_their_before_and_after(case):
    before, after, changed, tightened = case
    old, new = _revision("backend-00001-abc", **before), _revision("backend-00002-xyz", **after)

    assert settings_changed(old, new) == changed
    assert scaling_tightened(old, new) == tightened
