"""Whether a revision's connector, named by project id or by project number, is the connector a change scaled
(shared/diagnosis/connector_names.py), and what the sweep does when it cannot tell: a service not in the
config is judged as a user (bystanders.uses, may_use), and the change's own service's standing is unclear
(judging.off_the_connector). Pure, from tables."""
from __future__ import annotations

import pytest

from shared.diagnosis.evidence import Revision, Service, TrafficTarget, TrafficType
from shared.remediation import bystanders
from shared.diagnosis.connector_names import Naming, names_connector
from shared.remediation.judging import off_the_connector
from tests.unit.builders import CONNECTOR, at
from tests.unit.test_verification_judging import OLD, scale_up, served, swept

HOST = "projects/host-proj/locations/us-central1/connectors/shared-conn"
HOST_BY_NUMBER = "projects/123456789/locations/us-central1/connectors/shared-conn"
OTHER = "projects/svc-proj/locations/us-central1/services/reports"


def _service(name: str = OTHER, urls: tuple[str, ...] = ()) -> Service:
    split = (TrafficTarget(type=TrafficType.REVISION, revision="reports-2", percent=100),)
    return Service(name=name, generation=1, traffic=split, traffic_statuses=split, latest_ready_revision="reports-2",
                   latest_created_revision="reports-2", urls=urls, template_connector=None)


OWN_URL = ("https://reports-555000111.us-central1.run.app",)   # its own project's number: 555000111

NAMINGS = [
    # name, the service, the connector as its revision names it, the connector judged, naming
    ("the same, by id", _service(), HOST, HOST, Naming.YES),
    ("a bare id: the service's own project's connector", _service(), "shared-conn", HOST, Naming.NO),
    ("by a number not known to be any project's (a Shared VPC host's, or not)", _service(), HOST_BY_NUMBER, HOST,
     Naming.MAYBE),
    ("by a number, the service's own project's number unknown, both in its project", _service(),
     "projects/987/locations/us-central1/connectors/c", "projects/svc-proj/locations/us-central1/connectors/c",
     Naming.MAYBE),
    ("by the service's own project's number, read off its URL: its own project, not the host's",
     _service(urls=OWN_URL), "projects/555000111/locations/us-central1/connectors/shared-conn", HOST, Naming.NO),
    ("by its own project's number, the connector in that project: the same", _service(urls=OWN_URL),
     "projects/555000111/locations/us-central1/connectors/c", "projects/svc-proj/locations/us-central1/connectors/c",
     Naming.YES),
    ("by another number, the connector in its own project whose number is known: another project",
     _service(urls=OWN_URL), "projects/987/locations/us-central1/connectors/c",
     "projects/svc-proj/locations/us-central1/connectors/c", Naming.NO),
    ("by id, the connector judged by its own project's number (a pause's target): the same",
     _service(urls=OWN_URL), "projects/svc-proj/locations/us-central1/connectors/c",
     "projects/555000111/locations/us-central1/connectors/c", Naming.YES),
    ("a bare id, the connector judged by its own project's number: the same", _service(urls=OWN_URL), "c",
     "projects/555000111/locations/us-central1/connectors/c", Naming.YES),
    ("by id, the connector judged by another number, its own project's known: another project",
     _service(urls=OWN_URL), "projects/svc-proj/locations/us-central1/connectors/c",
     "projects/987/locations/us-central1/connectors/c", Naming.NO),
    ("by id, the connector judged by a number, its own project's unknown", _service(),
     "projects/svc-proj/locations/us-central1/connectors/c", "projects/987/locations/us-central1/connectors/c",
     Naming.MAYBE),
    ("by a number, another connector id", _service(), "projects/123456789/locations/us-central1/connectors/x", HOST,
     Naming.NO),
    ("by a number, another region", _service(), "projects/123456789/locations/europe-west1/connectors/shared-conn",
     HOST, Naming.NO),
    ("another project's id", _service(), "projects/else/locations/us-central1/connectors/shared-conn", HOST,
     Naming.NO),
    ("none (Direct VPC egress)", _service(), None, HOST, Naming.NO),
]


@pytest.mark.parametrize("name,service,named,connector,naming", NAMINGS, ids=[n[0] for n in NAMINGS])
def test_a_connector_named_by_project_number_is_matched_only_as_far_as_it_can_be_told(name, service, named, connector,
                                                                                    naming):
    assert names_connector(service, named, connector) is naming


def _revision(connector: str | None) -> Revision:
    return Revision(name=f"{OTHER}/revisions/reports-2", service=OTHER, create_time=at(-60), vpc_connector=connector)


@pytest.mark.parametrize("named,judged", [(HOST, True), (HOST_BY_NUMBER, True), (None, False),
                                          ("projects/123456789/locations/us-central1/connectors/x", False)])
def test_a_service_not_in_the_config_naming_the_connector_by_a_number_is_judged(named, judged):
    """A Shared VPC service project's service names its host's connector by the host's project number: before,
    it was read as not using it (a plain string comparison), never judged, and a scale-up was verified while it
    failed worse. Now it is judged as a user, and its verdict says why."""
    service = _service().model_copy(update={"template_connector": named})
    assert bystanders.may_use(service, HOST) is (judged or named is not None and "connectors/x" not in named)
    assert bystanders.uses(service, [_revision(named)], HOST) is judged
    said = bystanders.by_number(service, [_revision(named)], HOST)
    assert bool(said) is (named == HOST_BY_NUMBER), said


def test_the_changes_own_service_on_a_number_that_cannot_be_told_is_unclear():
    """The change's own service, whose serving revision names the connector by a number that cannot be told
    from the connector's project: its clean requests may be another connector's doing, so not verified, and
    the verdict says it cannot tell (before: "no longer reaches its VPC through" it, a claim it could not make)."""
    evidence = served(11)
    bundle = swept(evidence)
    by_number = CONNECTOR.replace("projects/demo/", "projects/4242/")
    revisions = tuple(r.model_copy(update={"vpc_connector": by_number}) if r.short_name == OLD else r
                      for r in bundle.revisions)
    why = off_the_connector(scale_up(), bundle.model_copy(update={"revisions": revisions}))
    assert "cannot be told" in why and "4242" in why, why
    assert off_the_connector(scale_up(), bundle) == ""
