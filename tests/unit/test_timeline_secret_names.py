"""The timeline keeps a Secret Manager change as the service's only when it is of a secret the service's
revisions read, compared by full name (classify.change_of, secret_refs.one_secret). A revision names its own
project's secret by id and another project's in full (SecretKeySelector.secret: "{secret_name} if the secret is
in the same project. projects/{project}/secrets/{secret_name} if the secret is in a different project",
google/cloud/run/v2/k8s_min.proto), and run_references keeps each in full. By the id alone, a person's new
version of the service project's own `db-pass` (not read by the service, which reads the shared project's) was
a change to what the service depends on: one after which the errors stopped was shown as the mitigation, and
as "people acted before Runwarden"."""
from __future__ import annotations

from datetime import timedelta

import pytest
from google.cloud import run_v2

from shared.gcp.run_references import references_of
from shared.timeline import derive
from shared.timeline.builder import Dependencies, build_timeline
from shared.timeline.classify import Related, change_of
from shared.timeline.entries import AuditInfo, EntryPage, LoggedEntry
from shared.timeline.model import Actor, ActorKind, Milestone, Milestones, Source, TimelineEntry

from tests.unit.test_timeline import T, _audit, minutes
from tests.unit.test_timeline_verdict_keys import INCIDENT, OPENED, PROJECT, T0, Pages, entries

ADD = "google.cloud.secretmanager.v1.SecretManagerService.AddSecretVersion"
SHARED = "projects/shop-shared/secrets/db-pass"        # another project's secret, as run_references names it
OWN = "projects/demo-project/secrets/api-key"           # the service project's own, by its revision's project


def related(*secrets: str) -> Related:
    return Related(project="demo-project", service="backend", location="us-central1", secrets=set(secrets))


CASES = {
    # (the secrets the revisions read, the audit entry's resource, the project it was read in, kept)
    "the shared secret, read in its project": ((SHARED,), "projects/shop-shared/secrets/db-pass/versions/4",
                                               "shop-shared", True),
    "the shared secret, by its project's number": ((SHARED,), "projects/98765/secrets/db-pass", "shop-shared", True),
    "the service project's own secret of that id": ((SHARED,), "projects/demo-project/secrets/db-pass", "", False),
    "... by the service project's number": ((SHARED,), "projects/12345/secrets/db-pass/versions/2", "", False),
    "its own secret, by its project's id": ((OWN,), "projects/demo-project/secrets/api-key", "", True),
    "its own secret, by its project's number": ((OWN,), "projects/12345/secrets/api-key/versions/9", "", True),
    "another project's secret of its own id": ((OWN,), "projects/shop-shared/secrets/api-key", "shop-shared", False),
    "a bare id (its project not known)": (("db-pass",), "projects/12345/secrets/db-pass", "", True),
    "another secret": ((OWN,), "projects/demo-project/secrets/other", "", False),
}


@pytest.mark.parametrize("secrets, resource, read_in, kept", CASES.values(), ids=CASES.keys())
def test_a_secret_change_is_the_services_only_for_a_secret_it_reads(secrets, resource, read_in, kept):
    change = change_of(_audit(ADD, resource), related(*secrets), read_in)
    assert (change is not None and change.kind == "secret_version") is kept, change


def test_a_person_changing_another_projects_secret_of_that_id_is_not_the_mitigation():
    """The service reads the shared project's db-pass; a person adds a version to the service project's own
    db-pass at minute 10, and the errors stop at minute 11 on their own account: not the mitigation."""
    change = change_of(_audit(ADD, "projects/demo-project/secrets/db-pass"), related(SHARED))
    rows = [TimelineEntry(at=T + timedelta(minutes=0.5), source=Source.ALERT, kind="alert_opened", summary="open",
                          actor=Actor(kind=ActorKind.MONITORING, name="monitoring"))]
    if change is not None:
        rows.append(TimelineEntry(at=T + timedelta(minutes=10), source=Source.AUDIT, kind=change.kind,
                                  summary=change.summary, actor=Actor(kind=ActorKind.PERSON, name="dana@example.com")))
    m = derive.milestones(rows, [], minutes(*([9] * 11 + [0] * 20)), T + timedelta(hours=2))
    assert m.mitigation is None, m.mitigation
    assert not derive.people_acted_first(rows, Milestones(onset=Milestone(at=T, what="onset")))


class _Pages(Pages):
    """Runwarden's lines of the incident (Pages), and one audit entry in the audit read of `project`."""

    def __init__(self, steps, audit: LoggedEntry, project: str) -> None:
        super().__init__(INCIDENT, steps)
        self.audit, self.project = audit, project

    def read_page(self, project, filter, *, page_size, page_token="", order_by="timestamp asc"):
        if "cloudaudit.googleapis.com%2Factivity" in filter and project == self.project:
            return EntryPage(entries=(self.audit,))
        return super().read_page(project, filter, page_size=page_size, page_token=page_token, order_by=order_by)


@pytest.mark.parametrize("reads, kept", [
    ("projects/shop-shared/secrets/db-pass", False),   # another project's secret of that id
    ("db-pass", True),                                  # the service project's own, named by id
], ids=["the service reads another project's db-pass", "the service reads its own db-pass"])
def test_the_timeline_shows_a_change_to_a_secret_of_the_services_project_only_when_it_reads_it(reads, kept):
    """Read as the live path reads it: the revisions' references (run_references.references_of, on the client
    library's Revision) are what the service depends on (live.dependencies), and a person's new version of the
    service project's own db-pass is in its audit log."""
    revision = run_v2.Revision(
        name="projects/demo-project/locations/us-central1/services/backend/revisions/backend-00002-xyz",
        containers=[run_v2.Container(env=[run_v2.EnvVar(name="DB_PASSWORD", value_source=run_v2.EnvVarSource(
            secret_key_ref=run_v2.SecretKeySelector(secret=reads, version="4")))])])
    found = references_of([revision])
    entry = LoggedEntry(timestamp=T0 + timedelta(minutes=3), log_id="cloudaudit.googleapis.com/activity",
                        insert_id="add-1", audit=AuditInfo(method_name=ADD, principal="dana@example.com",
                                                           resource_name="projects/demo-project/secrets/db-pass",
                                                           status_code=0))
    timeline = build_timeline(INCIDENT, PROJECT, _Pages(entries(OPENED), entry, PROJECT), T0 + timedelta(hours=1),
                              depends_on=Dependencies(secrets=set(found.secrets)))

    shown = [e for e in timeline.entries if e.kind == "secret_version"]
    assert bool(shown) is kept, (found.secrets, shown)
    assert timeline.people_acted_first is False or kept
