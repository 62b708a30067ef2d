"""incident_timeline over HTTP: functions-framework serving the real main.py, the real Logging
client against the stand-in, and a seeded incident."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.standins.server import StandIns, start_standins
from tests.integration.timeline_world import INCIDENT, PROJECT, seed_incident

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator:
    import functions_framework

    import shared.timeline.live as live

    t0 = (datetime.now(timezone.utc) - timedelta(minutes=40)).replace(second=0, microsecond=0)
    config = tmp_path_factory.mktemp("config") / "runwarden.yaml"
    config.write_text(f"project: {PROJECT}\noutcomes_topic: projects/{PROJECT}/topics/runwarden-outcomes\n")
    patch = pytest.MonkeyPatch()
    with start_standins() as standins:
        seed_incident(standins.logging, t0)
        for key, value in {**standins.env(), "RUNWARDEN_CONFIG": str(config)}.items():
            patch.setenv(key, value)
        live.close()
        app = functions_framework.create_app(target="incident_timeline", source=str(ROOT / "main.py"),
                                             signature_type="http")
        yield app.test_client(), standins
        live.close()
    patch.undo()


@pytest.fixture
def client(served):
    return served[0]


@pytest.fixture
def logging_standin(served):
    standin = served[1].logging
    yield standin
    standin.faults.clear()
    standin.search_budget = None


def test_json(client):
    response = client.get(f"/?incident_id={INCIDENT}&format=json")

    assert response.status_code == 200 and response.content_type == "application/json"
    body = response.get_json()
    assert body["incident_id"] == INCIDENT and body["durations"]["ttd_seconds"] == 180
    assert [e["kind"] for e in body["entries"]][:3] == ["service_change", "errors_started", "traffic_change"]


def test_the_functions_own_name_in_the_path_is_its_root(client):
    assert client.get(f"/incident_timeline?incident_id={INCIDENT}").status_code == 200


def test_json_is_the_default(client):
    assert client.get(f"/?incident_id={INCIDENT}").get_json()["incident_id"] == INCIDENT


def test_markdown(client):
    response = client.get(f"/?incident_id={INCIDENT}&format=markdown")

    assert response.status_code == 200 and response.content_type.startswith("text/markdown")
    assert response.get_data(as_text=True).startswith(f"# Postmortem (draft): incident {INCIDENT}")


def test_html_loads_nothing_and_runs_nothing(client):
    response = client.get(f"/?incident_id={INCIDENT}&format=html")

    assert response.status_code == 200 and response.content_type.startswith("text/html")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy and "img-src" not in policy
    assert "frame-ancestors 'none'" in policy and response.headers["X-Frame-Options"] == "DENY"   # no clickjacking
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Content-Type-Options"] == "nosniff"
    page = response.get_data(as_text=True)
    assert "<svg" in page and "<script" not in page.lower()
    # The header's policy is the page's own, plus what a <meta> policy cannot say.
    meta = page.split('<meta http-equiv="Content-Security-Policy" content="')[1].split('"')[0]
    assert policy == meta + "; frame-ancestors 'none'"


@pytest.mark.parametrize("path, status", [
    ("//", 200), ("///", 200), ("//incident_timeline", 200), ("/incident_timeline//", 200),   # the root
    ("//0.other", 400),                                                                      # another incident
])
def test_a_root_written_with_more_slashes_is_the_root_and_gets_the_same_page(client, path, status):
    """`//?incident_id=ID` reaches the function as gunicorn and werkzeug's server pass it
    (PATH_INFO "//"; the request-target's path is origin-form, RFC 9112 section 3.2.1) and gets the page
    `/` gets, never a redirect. Given to werkzeug's test client as a URL, `//?…` reads as an empty
    authority and an empty path (a network-path reference, RFC 3986 section 4.2), which werkzeug's
    routing redirects (308) to `/`: PATH_INFO is set here, as a server sets it."""
    response = client.get("/", query_string={"incident_id": INCIDENT}, environ_overrides={"PATH_INFO": path})

    assert response.status_code == status and "Location" not in response.headers
    if status == 200:
        root = client.get(f"/?incident_id={INCIDENT}").get_json()
        assert response.get_json()["entries"] == root["entries"] and root["incident_id"] == INCIDENT
    else:
        assert response.get_json()["field"] == "path"


@pytest.mark.parametrize("query", [f"?incident_id={INCIDENT}", f"?incident_id={INCIDENT}&format=markdown",
                                   "?incident_id=0.unknown", "?format=pdf", f"?incident_id={INCIDENT}&x=1"])
def test_every_answer_is_neither_cached_nor_sniffed(client, query):
    response = client.get("/" + query)

    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Content-Type-Options"] == "nosniff"
    assert "charset=utf-8" in response.headers["Content-Type"] or response.content_type == "application/json"
    policy = response.headers["Content-Security-Policy"]        # shown as a document, nothing runs or frames it
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy


@pytest.mark.parametrize("query, status, field", [
    ("", 400, "incident_id"),
    ("?incident_id=", 400, "incident_id"),
    ('?incident_id=0.x%22%20OR%20labels.a%3D%22b', 400, "incident_id"),       # 0.x" OR labels.a="b
    ("?incident_id=0.x%5C", 400, "incident_id"),                               # a backslash
    (f"?incident_id={INCIDENT}&format=pdf", 400, "format"),
    (f"?incident_id={INCIDENT}&incident_id=0.y", 400, "incident_id"),
    (f"?incident_id={INCIDENT}&project=other", 400, "project"),
    ("?incident_id=0.unknown", 404, "incident_id"),
    (f"{INCIDENT}", 400, "path"),                                              # the id in the path
    (f"0.other?incident_id={INCIDENT}", 400, "path"),                          # a path naming another
    (f"{'x' * 5000}?incident_id={INCIDENT}", 400, "path"),
    (f"?incident_id={'a' * 5000}", 400, "incident_id"),
    (f"?incident_id={INCIDENT[:2]}%E2%80%8B{INCIDENT[2:]}", 400, "incident_id"),  # U+200B inside (around: stripped)
    (f"?incident_id={INCIDENT}&format=HTML", 400, "format"),
])
def test_bad_input_is_answered_with_the_field(client, query, status, field):
    response = client.get("/" + query)

    assert response.status_code == status
    body = json.loads(response.get_data(as_text=True))
    assert body["field"] == field and body["error"]


def test_a_search_that_did_not_finish_is_504_never_404(client, logging_standin):
    from sandbox.standins.logging import EntrySeed, log_name_for

    old = datetime.now(timezone.utc) - timedelta(days=5)
    logging_standin.add_entries([EntrySeed(log_name=log_name_for(PROJECT, "other"), timestamp=old - timedelta(seconds=i),
                                           resource_type="global", severity="INFO") for i in range(30_000)])
    logging_standin.search_budget = 500       # 10 pages examine 5,000 of the 30,000 older entries

    response = client.get("/?incident_id=0.unknown")

    assert response.status_code == 504 and response.headers["Retry-After"]
    body = response.get_json()
    assert body["field"] == "cloud_logging" and "did not finish searching" in body["error"]


@pytest.mark.parametrize("code, status, words, retry", [
    (grpc.StatusCode.PERMISSION_DENIED, 502, "PERMISSION_DENIED", None),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, 503, "quota", "60"),
    (grpc.StatusCode.UNAVAILABLE, 503, "unavailable", "10"),
])
def test_cloud_logging_failures_have_a_status_and_say_what_failed(client, logging_standin, code, status, words, retry):
    logging_standin.faults.fail_next(5, code)

    response = client.get(f"/?incident_id={INCIDENT}")

    assert response.status_code == status and response.get_json()["field"] == "cloud_logging"
    assert words in response.get_json()["error"] and response.headers.get("Retry-After") == retry


def test_only_get(client):
    assert client.post(f"/?incident_id={INCIDENT}").status_code == 405


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(incident=st.text(max_size=40), fmt=st.one_of(st.none(), st.text(max_size=10),
                                                    st.sampled_from(["json", "markdown", "html"])),
       extra=st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=2))
def test_user_input_never_causes_a_500(client, incident, fmt, extra):
    params = {"incident_id": incident, **({"format": fmt} if fmt is not None else {}), **extra}
    response = client.get("/", query_string=params)

    assert response.status_code in (200, 400, 404)
