"""What Google's APIs document about how they answer, held against the stand-ins through the real
client libraries, and the product's adapters run under each reading the documentation leaves open.

Each test names its source. Where the documentation does not settle a behaviour, the stand-in
has a switch for each reading and the product's test runs under both (docs/testing.md, "What the
stand-ins do where the documentation is silent").
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sandbox.standins.logging import EntrySeed, log_name_for
from shared.errors import PermanentError
from shared.gcp.endpoints import CallPolicy, logging_client
from shared.gcp.logging import MAX_SEARCH_PAGES, CloudLoggingAdapter

PROJECT = "demo-project"
QUICK = CallPolicy(call_timeout=5, attempts=2, initial_backoff=0.01, max_backoff=0.05, total_timeout=5)
TIMELINE = log_name_for(PROJECT, "runwarden")
STDOUT = log_name_for(PROJECT, "run.googleapis.com/stdout")
REVISION = {"project_id": PROJECT, "service_name": "backend", "revision_name": "backend-00002-xyz",
            "location": "us-central1", "configuration_name": "backend"}


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Cloud Logging: ListLogEntries ---------------------------------------------------------------


def _noise(logging, newest: datetime, count: int) -> None:
    """`count` stdout lines in the minutes before `newest`, none of them a timeline step."""
    logging.add_entries([EntrySeed(STDOUT, newest - timedelta(seconds=i), "cloud_run_revision", REVISION, "INFO",
                                   text=f"GET /orders {i}") for i in range(count)])


def _received(logging, at: datetime, incident: str = "0.abc") -> None:
    logging.add_entry(EntrySeed(TIMELINE, at, "cloud_run_revision", REVISION, "INFO",
                                json={"runwarden": {"step": "received"}},
                                labels={"runwarden_incident": incident, "runwarden_step": "received"}))


def _incident_query(since: datetime, incident: str = "0.abc") -> str:
    return (f'labels.runwarden_incident="{incident}" AND labels.runwarden_step="received" '
            f'AND timestamp>="{_stamp(since)}"')


def test_a_logging_search_may_stop_before_it_has_found_anything(standin_env):
    """ListLogEntriesResponse.next_page_token (google/logging/v2/logging.proto): "If a value for
    next_page_token appears and the entries field is empty, it means that the search found no log
    entries so far but it did not have time to search all the possible log entries. Retry the
    method with this value for page_token to continue the search." The stand-in's search_budget
    plays it; the pages, followed to the end, hold exactly the matching entries."""
    logging, now = standin_env.logging, _now()
    _received(logging, now - timedelta(hours=2))
    _noise(logging, now, 5)
    logging.search_budget = 2
    client = logging_client()
    pager = client.list_log_entries(request={"resource_names": [f"projects/{PROJECT}"], "order_by": "timestamp desc",
                                             "filter": _incident_query(now - timedelta(days=7)), "page_size": 1})
    pages = list(pager.pages)
    client.transport.close()

    assert len(pages[0].entries) == 0 and pages[0].next_page_token
    assert [len(p.entries) for p in pages] == [0, 0, 1]     # 6 entries, 2 examined per call
    assert not pages[-1].next_page_token


def test_a_filter_without_timestamp_searches_every_retained_entry(standin_env):
    """The 24-hour default is the client libraries', not the server's: python google-cloud-logging
    adds it in `_helpers._add_defaults_to_filter` (Client/Logger.list_entries, not the GAPIC
    client), googleapis/google-cloud-go #3120 and googleapis/java-logging #304 ("previously ... the
    query would try to retrieve all log entries"). `default_window` plays the other reading."""
    logging, now = standin_env.logging, _now()
    _received(logging, now - timedelta(hours=30), incident="0.old")
    _received(logging, now - timedelta(hours=1), incident="0.new")
    client = logging_client()

    def incidents() -> list[str]:
        entries = client.list_log_entries(request={"resource_names": [f"projects/{PROJECT}"],
                                                   "filter": 'labels.runwarden_step="received"'})
        return sorted(e.labels["runwarden_incident"] for e in entries)

    assert incidents() == ["0.new", "0.old"]
    logging.default_window = timedelta(hours=24)
    assert incidents() == ["0.new"]
    client.transport.close()


@pytest.mark.parametrize("budget", [None, 1, 3], ids=["whole-search", "budget-1", "budget-3"])
def test_list_payloads_reads_on_past_pages_the_search_left_empty(standin_env, budget):
    """Live mode finds an incident by one `received` line in a week of logs: an empty first page
    with a token is "not searched yet", not "not there"."""
    logging, now = standin_env.logging, _now()
    _received(logging, now - timedelta(hours=3))
    _noise(logging, now, 4)
    logging.search_budget = budget
    adapter = CloudLoggingAdapter(policy=QUICK)
    try:
        found = adapter.list_payloads(PROJECT, _incident_query(now - timedelta(days=7)), 1)
    finally:
        adapter.close()
    assert [payload for _, payload in found] == [{"runwarden": {"step": "received"}}]


def test_list_payloads_says_when_the_search_did_not_finish(standin_env):
    """Still a token and nothing found after MAX_SEARCH_PAGES pages: reported as unfinished, never
    as "no such entry"."""
    logging, now = standin_env.logging, _now()
    _received(logging, now - timedelta(hours=3))
    _noise(logging, now, MAX_SEARCH_PAGES + 5)
    logging.search_budget = 1
    adapter = CloudLoggingAdapter(policy=QUICK)
    try:
        with pytest.raises(PermanentError, match="has not finished") as raised:
            adapter.list_payloads(PROJECT, _incident_query(now - timedelta(days=7)), 1)
    finally:
        adapter.close()
    assert raised.value.code == "SEARCH_INCOMPLETE"
    assert logging.count("ListLogEntries") == MAX_SEARCH_PAGES


@pytest.mark.parametrize("budget", [1, 4])
def test_list_entries_reads_the_same_entries_whatever_the_search_stops_at(standin_env, budget):
    """The evidence read (newest first, up to max_entries) does not depend on where the API's
    search pauses: short and empty pages are read on."""
    logging, now = standin_env.logging, _now()
    logging.add_entries([EntrySeed(STDOUT, now - timedelta(seconds=i), "cloud_run_revision", REVISION,
                                   "ERROR" if i % 3 == 0 else "INFO", text=f"line {i}") for i in range(20)])
    query = f'severity>=ERROR AND timestamp>="{_stamp(now - timedelta(hours=1))}"'
    adapter = CloudLoggingAdapter(policy=QUICK)
    try:
        whole = adapter.list_entries(PROJECT, query, 5)
        logging.search_budget = budget
        paused = adapter.list_entries(PROJECT, query, 5)
    finally:
        adapter.close()
    assert [r.text for r in paused.entries] == [r.text for r in whole.entries] == [
        f"line {i}" for i in (0, 3, 6, 9, 12)]
    assert paused.truncated and whole.truncated
