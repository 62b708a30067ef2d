"""The watchdog's log filters, run by the real Cloud Logging client against the Logging stand-in.

Each filter Terraform writes (the log-match alert policies and the heartbeat metric) is rendered
from infra/ as Terraform would render it, then read with ListLogEntries over a set of entries
that look like what Runwarden's functions and a watched service write. Every entry is tried
under both resource types a function's entry may carry (`cloud_run_revision` with service_name,
as `gcloud functions logs read` reads gen2 functions; `cloud_function` with function_name), so
the watchdog is right under either reading.
"""
from __future__ import annotations

import re

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest

from sandbox.scenario_logs import REQUEST_TEXT
from sandbox.standins.logging import EntrySeed, LoggingStandIn, log_name_for
from shared.outcomes import NOTIFY_STATUSES
from tests.infra.terraform import evaluate, function_names, load_module, render, single

PROJECT = "rw-project"
REQUESTS = "run.googleapis.com/requests"
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def policy_filter(name: str) -> str:
    condition = single(load_module().resource("google_monitoring_alert_policy", name)["conditions"])
    return render(single(condition["condition_matched_log"])["filter"])


FILTERS = {
    "function_errors": lambda: policy_filter("function_errors"),
    "config_error": lambda: policy_filter("config_error"),
    "notify": lambda: policy_filter("notify"),
    "heartbeat": lambda: render(load_module().resource("google_logging_metric", "sweep_heartbeat")["filter"]),
}


@dataclass(frozen=True)
class Line:
    """One log entry a function (or a watched service) writes, and the policies it must reach."""

    name: str
    service: str
    log: str
    severity: str
    labels: dict[str, str]
    expected: frozenset[str]
    text: str | None = None
    http_status: int | None = None    # an entry of Cloud Run's request log: httpRequest.status, no payload but `text`


def _lines() -> list[Line]:
    on_alert, on_command, timeline = function_names()
    step = lambda s, **more: {"runwarden_step": s, "runwarden_trigger": "alert", **more}  # noqa: E731
    lines = [
        # An uncaught exception: Flask (under functions-framework) logs its traceback to stderr as plain
        # text, and "Logs to standard output or standard error do not have an associated log level"
        # (Cloud Run functions, "View and write Cloud Run function logs", Python): DEFAULT, not ERROR.
        Line("crash traceback on stderr", on_command, "run.googleapis.com/stderr", "DEFAULT", {},
             frozenset({"function_errors"}), text="Traceback (most recent call last):"),
        # The same with functions-framework's execution-id logging, which writes stderr as JSON: whatever
        # severity it is given (UNCONFIRMED here), the traceback is in jsonPayload.message.
        Line("Traceback (most recent call last): as a JSON line", on_alert, "run.googleapis.com/stderr",
             "DEFAULT", {}, frozenset({"function_errors"})),
        Line("a watched service's traceback", "backend", "run.googleapis.com/stderr", "DEFAULT", {}, frozenset(),
             text="Traceback (most recent call last):"),
        Line("out of memory", timeline, "run.googleapis.com/varlog/system", "ERROR", {},
             frozenset({"function_errors"}), text="Memory limit of 512 MiB exceeded with 530 MiB used."),
        Line("a failed step", on_alert, "run.googleapis.com/stdout", "ERROR", step("failed_read"),
             frozenset({"function_errors"})),
        Line("config error", on_alert, "run.googleapis.com/stdout", "CRITICAL", step("config_error"),
             frozenset({"config_error"})),
        Line("sweep done", on_command, "run.googleapis.com/stdout", "INFO", step("swept"), frozenset({"heartbeat"})),
        Line("info step", on_alert, "run.googleapis.com/stdout", "INFO", step("diagnosed"), frozenset()),
        Line("a watched service's error", "backend", "run.googleapis.com/stderr", "ERROR", {}, frozenset(),
             text="sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached"),
        Line("a watched service's line that looks like a step", "backend", "run.googleapis.com/stdout", "ERROR",
             step("notify", runwarden_status="failed"), frozenset()),
        Line("a service named like a function", on_alert + "-2", "run.googleapis.com/stdout", "CRITICAL",
             step("config_error"), frozenset()),
        # Cloud Run's request log: an entry per request, at ERROR for a 5xx (a public gen2 function's entry for a
        # 500 it answered: severity ERROR, no payload; infra/watchdog.tf, answered_5xx). A 5xx the function answered
        # itself is paged by the line that says why (config_error, a traceback) or by none (the timeline's answer
        # to a person); the entries carrying Cloud Run's own text are failures nothing else reports.
        Line("the 503 answered while the config is broken", on_alert, REQUESTS, "ERROR", {}, frozenset(),
             http_status=503),
        Line("the 500 of a raised fault, whose traceback pages", on_command, REQUESTS, "ERROR", {}, frozenset(),
             http_status=500),
        Line("the timeline's 503 to a person while Cloud Logging is busy", timeline, REQUESTS, "ERROR", {},
             frozenset(), http_status=503),
        Line("cut off at the function timeout", on_alert, REQUESTS, "ERROR", {}, frozenset({"function_errors"}),
             text=REQUEST_TEXT[504], http_status=504),
        Line("the connection to the instance broke", on_command, REQUESTS, "ERROR", {},
             frozenset({"function_errors"}), text=REQUEST_TEXT[503], http_status=503),
        Line("a watched service's timeout", "backend", REQUESTS, "ERROR", {}, frozenset(), text=REQUEST_TEXT[504],
             http_status=504),
    ]
    for status, severity in NOTIFY_STATUSES.items():
        lines.append(Line(f"notify {status}", on_alert, "run.googleapis.com/stdout", severity,
                          step("notify", runwarden_status=status), frozenset({"notify"})))
    lines.append(Line("notify for a status nobody is paged for", on_command, "run.googleapis.com/stdout", "INFO",
                      step("notify", runwarden_status="verified"), frozenset()))
    return lines


def _seed(line: Line, resource_type: str, at: datetime) -> EntrySeed:
    if resource_type == "cloud_run_revision":
        resource = {"project_id": PROJECT, "location": "us-central1", "service_name": line.service,
                    "revision_name": f"{line.service}-00001-abc", "configuration_name": line.service}
    else:
        resource = {"project_id": PROJECT, "region": "us-central1", "function_name": line.service}
    return EntrySeed(log_name=log_name_for(PROJECT, line.log), timestamp=at, resource_type=resource_type,
                     resource_labels=resource, severity=line.severity, labels=line.labels, text=line.text,
                     json=None if line.text or line.http_status else {"message": line.name},
                     http_status=line.http_status)


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[LoggingStandIn, dict[str, tuple[Line, str]]]]:
    standin = LoggingStandIn(clock=lambda: T0)
    standin.start()
    by_id: dict[str, tuple[Line, str]] = {}
    at = T0 - timedelta(minutes=30)
    for line in _lines():
        for resource_type in ("cloud_run_revision", "cloud_function"):
            at += timedelta(seconds=1)
            by_id[standin.add_entry(_seed(line, resource_type, at))] = (line, resource_type)
    yield standin, by_id
    standin.stop()


@pytest.fixture(scope="module")
def pages(seeded) -> Iterator[object]:
    from shared.gcp.logging import CloudLogPagesAdapter

    standin, _ = seeded
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOGGING_EMULATOR_HOST", standin.address)
        adapter = CloudLogPagesAdapter()
        yield adapter
        adapter.close()


@pytest.mark.parametrize("policy", sorted(FILTERS))
def test_each_filter_matches_exactly_the_lines_meant_for_it(policy: str, seeded, pages) -> None:
    _, by_id = seeded
    page = pages.read_page(PROJECT, FILTERS[policy](), page_size=1000)
    matched = {(by_id[e.insert_id][0].name, by_id[e.insert_id][1]) for e in page.entries}
    expected = {(line.name, kind) for line, kind in by_id.values() if policy in line.expected}
    assert expected, f"{policy}: no line is meant for it; the test would prove nothing"
    assert matched == expected, (f"{policy}: missed {sorted(expected - matched)}, "
                                 f"matched wrongly {sorted(matched - expected)}")


def test_both_resource_types_are_named_in_every_own_log_filter() -> None:
    for name, build in FILTERS.items():
        text = build()
        assert 'resource.type = "cloud_run_revision"' in text and 'resource.type = "cloud_function"' in text, name


def test_the_notify_statuses_are_the_codes() -> None:
    assert set(evaluate(v) for v in load_module().locals["notify_statuses"]) == set(NOTIFY_STATUSES)


def test_the_page_names_every_status_it_carries() -> None:
    # The person paged reads the policy's name and documentation first: a `rejected` (a malformed alert,
    # a policy to fix) paged under a name that listed every other status but that one.
    policy = load_module().resource("google_monitoring_alert_policy", "notify")
    named = re.search(r"\((.*)\)$", policy["display_name"]).group(1)
    assert {s.strip() for s in named.split(",")} == set(NOTIFY_STATUSES), policy["display_name"]
    assert "rejected" in policy["documentation"][0]["content"], policy["documentation"]


def test_the_renderer_expands_a_join(tmp_path) -> None:
    rendered = render("${local.notify_status_filter}")
    assert rendered.count("labels.runwarden_status = ") == len(NOTIFY_STATUSES)
    assert rendered.startswith('labels.runwarden_status = "') and " OR " in rendered
