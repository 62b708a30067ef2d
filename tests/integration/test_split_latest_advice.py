"""The command a person is given for a split where LATEST holds a share, through `runwarden diagnose` on the real
Cloud Run client against the stand-in (which resolves a LATEST status to the latest ready revision, as the adapter
reads one that names none). LATEST's share reaching the failing revision is the failing share, moved with it; one
reaching a clean revision is kept as LATEST (gcloud takes "LATEST" in --to-revisions); a tag-only target is named
to stay (--update-tags)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from cli.main import runwarden
from sandbox.scenarios import resolve_scenario

ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
WHERE = " --region=us-central1 --project=demo-project"

# scenario -> the line its advice gives
LINES = {
    "rollback_three_way_split_latest_share_failing": (
        "gcloud run services update-traffic backend --to-revisions backend-00002-abc=80,backend-00001-old=20 "
        "--update-tags=stable=backend-00002-abc" + WHERE),
    "split_three_middle_fails_latest_share_kept": (
        "gcloud run services update-traffic backend --to-revisions backend-00001-abc=75,LATEST=25" + WHERE),
}


@pytest.mark.parametrize("name, line", LINES.items(), ids=LINES.keys())
def test_the_advice_moves_the_failing_share_alone_keeping_latest_and_tags(tmp_path, name, line):
    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps(resolve_scenario(name).notification(ANCHOR)))

    result = CliRunner().invoke(runwarden, ["diagnose", str(alert), "--scenario", name, "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["would"]["action"] is None, report["would"]["reason"]
    assert line in report["diagnosis"]["recommendation"], report["diagnosis"]["recommendation"]
    # LATEST's share is never said to be one of "a revision neither failing nor known good"
    assert "LATEST 50%" not in report["would"]["reason"], report["would"]["reason"]
