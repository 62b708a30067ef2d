"""Whose change an audit entry records: Runwarden's own write, or someone else's, when both are service
accounts acting on the same target in the same minutes (shared/timeline/builder.py, `_within_a_write`).
Pure: the builder reads pages from an in-memory answer, no Logging call."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.timeline.builder import build_timeline
from shared.timeline.entries import AuditInfo, EntryPage, LoggedEntry

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
S = timedelta(seconds=1)
INCIDENT = "0.attribution"
PROJECT = "demo-project"
SERVICE = f"projects/{PROJECT}/locations/us-central1/services/backend"
RUNWARDEN = "runwarden@demo-project.iam.gserviceaccount.com"
CI = "ci-deployer@demo-project.iam.gserviceaccount.com"
TRAFFIC = {"service": {"traffic": [{"revision": "backend-00001-abc", "percent": 100}]}, "updateMask": "traffic"}
DEPLOY = {"service": {"template": {"containers": [{"image": "gcr.io/demo/backend:v3"}]}}}


def line(step: str, at: datetime, principal: str, n: int, **details) -> LoggedEntry:
    runwarden = {"step": step, "incident_id": INCIDENT, "writer": "w1", **details,
                 **({"principal": principal} if principal else {})}
    return LoggedEntry(insert_id=f"{step}-{n}", timestamp=at, receive_timestamp=at + S,
                       log_id="run.googleapis.com/stdout",
                       labels={"runwarden_incident": INCIDENT, "runwarden_step": step, "runwarden_trigger": "alert"},
                       json_payload={"message": step, "runwarden": runwarden}, text=step)


class Pages:
    def __init__(self, steps: list[LoggedEntry], audit: list[LoggedEntry]) -> None:
        self.steps, self.audit = steps, audit

    def read_page(self, project, filter, *, page_size, page_token="", order_by="timestamp asc"):
        if "cloudaudit" in filter:
            return EntryPage(entries=tuple(self.audit))
        if f'runwarden_incident="{INCIDENT}"' in filter and "NOT" not in filter.split("runwarden_incident")[0][-5:]:
            ordered = sorted(self.steps, key=lambda e: e.timestamp)
            return EntryPage(entries=tuple(ordered if order_by.endswith("asc") else reversed(ordered)))
        return EntryPage()


def rollback(principal: str) -> list[LoggedEntry]:
    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    return [line("received", T0 + 10 * S, principal, 0, resource=resource, state="open",
                 started_at=int(T0.timestamp())),
            line("planned", T0 + 70 * S, principal, 1, action="rollback_traffic",
                 params={"target": SERVICE, "to_revision": "backend-00001-abc"}),
            line("claimed", T0 + 75 * S, principal, 2),
            line("applied", T0 + 95 * S, principal, 3, status="applied")]


def update(principal: str, request: dict, n: int = 0, at: datetime = T0 + 90 * S) -> LoggedEntry:
    return LoggedEntry(insert_id=f"audit-{n}", timestamp=at, log_id="cloudaudit.googleapis.com/activity",
                       audit=AuditInfo(service_name="run.googleapis.com",
                                       method_name="google.cloud.run.v2.Services.UpdateService",
                                       resource_name=SERVICE, principal=principal, request=request))


@pytest.mark.parametrize("lines_name, audit_principal, request_, actor, by_time_alone", [
    (RUNWARDEN, RUNWARDEN, TRAFFIC, "runwarden", False),         # its own write, by the account its lines name
    (RUNWARDEN, RUNWARDEN.upper(), TRAFFIC, "runwarden", False),  # the same account, written in capitals
    # A CI account's v2 UpdateService of the same service inside Runwarden's write window: another's change
    (RUNWARDEN, CI, TRAFFIC, "person", False),
    # Lines that name no account (written before they did, or the account was not found): the time alone
    ("", RUNWARDEN, TRAFFIC, "runwarden", True),
    ("", CI, TRAFFIC, "runwarden", True),
    # A deploy is never Runwarden's write (its Run writes send update_mask traffic alone), whoever's lines
    ("", CI, DEPLOY, "person", False),
    (RUNWARDEN, RUNWARDEN, DEPLOY, "person", False),
])
def test_a_service_accounts_change_in_runwardens_write_window_is_its_own_only_by_its_account(
        lines_name, audit_principal, request_, actor, by_time_alone):
    timeline = build_timeline(INCIDENT, PROJECT, Pages(rollback(lines_name), [update(audit_principal, request_)]),
                              T0 + timedelta(hours=1))

    [change] = [e for e in timeline.entries if e.source.value == "audit"]
    assert change.actor.kind.value == actor, change
    assert ("by its time alone" in change.summary) is by_time_alone, change.summary
    assert timeline.people == ([audit_principal] if actor == "person" else [])


def test_runwardens_write_and_a_ci_accounts_in_the_same_minute_are_told_apart():
    """Runwarden rolls `backend` back (claimed 12:01:15, applied 12:01:35) and a CI pipeline's service
    account moves the service's traffic with the v2 API at 12:01:40 (its canary step): before, both read
    as Runwarden's own write, and the CI account neither acted nor was a person who changed anything."""
    audit = [update(RUNWARDEN, TRAFFIC, 0), update(CI, TRAFFIC, 1, at=T0 + 100 * S)]
    timeline = build_timeline(INCIDENT, PROJECT, Pages(rollback(RUNWARDEN), audit), T0 + timedelta(hours=1))

    kinds = {e.actor.name: e.actor.kind.value for e in timeline.entries if e.source.value == "audit"}
    assert kinds == {f"Runwarden ({RUNWARDEN})": "runwarden", CI: "person"}, kinds
    assert timeline.people == [CI]


def test_every_line_names_the_account_its_process_acts_as_once_it_is_known():
    import io

    from shared.timeline import writer

    out = io.StringIO()
    try:
        writer.set_principal(RUNWARDEN)
        writer.Timeline(INCIDENT, stream=out).step("claimed", "claimed")
        writer.set_principal(None)
        writer.Timeline(INCIDENT, stream=out).step("applied", "applied")
    finally:
        writer.set_principal(None)
    import json
    first, second = (json.loads(text)["runwarden"] for text in out.getvalue().splitlines())
    assert first["principal"] == RUNWARDEN and "principal" not in second
