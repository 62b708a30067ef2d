"""A full connector beside a canary that changed how many connections it opens: no bystander.

A canary that raised its pool (DB_POOL_SIZE 5 to 200), its max or min instances or its requests per instance may
have filled the shared connector with its own connections: the rollback bad_revision made before the connector was
read stands, naming the change. Before, the connector rule held it as the connector's failure and said "the deploy
changed none of the database settings", the pool's change dropped from the summary. A canary that changed none of
them is still held (tests/unit/test_bad_revision_connector_full.py). Pure: evidence built in memory."""
from __future__ import annotations

import pytest

from shared.diagnosis.signatures import Signature

from tests.unit.builders import SQL, Evidence
from tests.unit.test_bad_revision_connector_full import DB, NEW, OLD, run


def rollout(*, share: int = 2, pool: str = "5", max_instances: int | None = None,
            concurrency: int | None = None) -> Evidence:
    """The connector at 2 of 3 instances and 30 % CPU until -16 min, at its max and 95 % from then on (before NEW's
    deploy at -13: the connector was full before the canary came); NEW (`share` % of the split) sets DB_POOL_SIZE `pool` (OLD: 5),
    `max_instances` and `concurrency` (OLD: unset); 60 % of NEW's requests 503, 5 dials a minute timed out to DB."""
    per_minute = 1500
    new, old = per_minute * share / 100, per_minute * (100 - share) / 100
    e = (Evidence().revision(OLD, -6 * 24 * 60, sql=(SQL,), plain_env=(("DB_HOST", DB), ("DB_POOL_SIZE", "5")))
         .revision(NEW, -13, sql=(SQL,), plain_env=(("DB_HOST", DB), ("DB_POOL_SIZE", pool)),
                   max_instances=max_instances, concurrency=concurrency)
         .traffic(**{OLD: 100 - share, NEW: share})
         .requests(OLD, -90, -13, per_minute).latency(OLD, -90, -13, 0.12)
         .connector(max_instances=3)
         .connector_metric("instances", -90, -16, 2).connector_metric("instances", -16, 5, 3)
         .connector_metric("cpu", -90, -16, 0.3).connector_metric("cpu", -16, 5, 0.95)
         .connector_metric("bytes", -90, 5, 2e6).sql_up(-90, 5, 1))
    if old:
        e = e.requests(OLD, -13, 5, old).latency(OLD, -13, 5, 0.12)
    e = e.requests(NEW, -13, 5, new * 0.4).requests(NEW, -13, 5, new * 0.6, code="503").latency(NEW, -13, 5, 10.0)
    for m in range(-11, 1):
        e = e.log(m, f"dial tcp {DB}:5432: i/o timeout", NEW, count=5)
    return e


ROLLED_BACK = {
    "2 % canary, pool 5 -> 200": (dict(pool="200"), "DB_POOL_SIZE from 5 to 200"),
    "2 % canary, max instances raised": (dict(max_instances=400), "max instances"),
    "2 % canary, requests per instance changed": (dict(concurrency=4), "requests per instance"),
}


@pytest.mark.parametrize("name", ROLLED_BACK)
def test_a_canary_that_changed_how_many_connections_it_opens_is_rolled_back_naming_it(name):
    kwargs, change = ROLLED_BACK[name]
    result, chosen = run(rollout(**kwargs), "5xx")
    assert (result.signature, chosen.action) == (Signature.BAD_REVISION, "rollback_traffic"), result.summary
    assert change in result.summary, result.summary


@pytest.mark.parametrize("share", [2, 50, 100])
def test_no_summary_says_the_deploy_changed_nothing_when_it_raised_its_pool(share):
    result, _ = run(rollout(pool="200", share=share), "5xx")
    assert "DB_POOL_SIZE from 5 to 200" in result.summary, result.summary
    assert "changed none of the database settings" not in result.summary, result.summary


def test_control_a_canary_that_changed_nothing_of_its_connections_is_held():
    result, chosen = run(rollout(), "5xx")
    assert chosen.action != "rollback_traffic", result.summary
    assert "full" in result.summary, result.summary


def test_how_many_connections_a_revision_opens_is_read_once_with_cloud_runs_defaults():
    """connector_full compares deploy_changes.scaling_of, the reading settings_changed words: an unset max instances
    or requests per instance is Cloud Run's default, so stating the default changes nothing, and each setting counts."""
    from shared.diagnosis.rules.deploy_changes import Scaling, scaling_of

    def revision(**kwargs):
        return Evidence().revision(NEW, -13, **kwargs).bundle().revisions[0]

    unset = scaling_of(revision())
    assert unset == Scaling(max_instances=100, requests_per_instance=80, min_instances=0)
    assert scaling_of(revision(max_instances=100, concurrency=80)) == unset
    assert scaling_of(revision(max_instances=400)) != unset and scaling_of(revision(concurrency=4)) != unset
