"""A revision may name its connector by project id or number ("where {project} can be project id or
number", VpcAccess.connector, google/cloud/run/v2/vendor_settings.proto); alerts, the config and
the records name it by id. The two forms are taken as one connector only when the number is known
to be the service's own project's: its deterministic URL, https://SERVICE-PROJECT_NUMBER.REGION.run.app
(cloud.google.com/run/docs/triggering/https-request), says so. Anything else stays apart (safe:
at worst a user is missed, never a stranger's connector taken for this one)."""
from __future__ import annotations

import pytest

from shared.diagnosis.collection import connectors_by_id
from shared.diagnosis.evidence import Revision, Service

from tests.unit.builders import at

SERVICE = "projects/shop-prod/locations/europe-west1/services/orders"
BY_ID = "projects/shop-prod/locations/europe-west1/connectors/shared-conn"
BY_NUMBER = "projects/786669526429/locations/europe-west1/connectors/shared-conn"
OWN_URL = "https://orders-786669526429.europe-west1.run.app"
HASHED = "https://orders-abcdefghij-ew.a.run.app"


def _service(*urls: str, name: str = SERVICE) -> Service:
    return Service(name=name, generation=1, urls=urls)


@pytest.mark.parametrize("urls, connector, expected", [
    ((OWN_URL, HASHED), BY_NUMBER, BY_ID),                          # its own project's number: the id
    ((HASHED, OWN_URL + "/"), BY_NUMBER, BY_ID),                    # in any place, with a trailing slash
    ((OWN_URL,), BY_ID, BY_ID),                                     # by id already
    ((OWN_URL,), "projects/111111111111/locations/europe-west1/connectors/shared-conn",
     "projects/111111111111/locations/europe-west1/connectors/shared-conn"),   # another project's number
    ((HASHED,), BY_NUMBER, BY_NUMBER),                              # no deterministic URL: cannot tell
    ((), BY_NUMBER, BY_NUMBER),
    (("https://orders-786669526429.us-central1.run.app",), BY_NUMBER, BY_NUMBER),     # another region's service
    (("https://orders-v2-786669526429.europe-west1.run.app",), BY_NUMBER, BY_NUMBER),  # another service
    ((OWN_URL, "https://orders-222222222222.europe-west1.run.app"), BY_NUMBER, BY_NUMBER),  # two numbers: unknown
    ((OWN_URL,), None, None),
], ids=["own number", "any place", "by id", "another number", "no deterministic url", "no urls",
        "another region", "another service", "two numbers", "no connector"])
def test_a_connector_by_number_is_named_by_id_only_when_the_number_is_the_services_own(urls, connector, expected):
    assert _service(*urls).own_project_form(connector) == expected


def test_the_revisions_name_their_connector_by_id_and_nothing_else_changes():
    revisions = [Revision(name=f"{SERVICE}/revisions/orders-00041-mup", service=SERVICE, create_time=at(-60),
                          vpc_connector=BY_NUMBER),
                 Revision(name=f"{SERVICE}/revisions/orders-00040-abc", service=SERVICE, create_time=at(-90),
                          vpc_connector=BY_ID),
                 Revision(name=f"{SERVICE}/revisions/orders-00039-xyz", service=SERVICE, create_time=at(-120))]

    named = connectors_by_id(_service(OWN_URL), revisions)

    assert [r.vpc_connector for r in named] == [BY_ID, BY_ID, None]
    assert [r.model_copy(update={"vpc_connector": None}) for r in named] == \
        [r.model_copy(update={"vpc_connector": None}) for r in revisions]
    assert named[1] is revisions[1]    # left as read when nothing changes


# A bare connector id (`gcloud run deploy --vpc-connector NAME`) names a connector in the service's own
# project and region; the Run API may return that form (GoogleCloudPlatform/magic-modules #10332).
@pytest.mark.parametrize("urls, connector, expected", [
    ((OWN_URL,), "shared-conn", BY_ID),
    ((), "shared-conn", BY_ID),                                     # needs no URL: the service's own name says it
    ((OWN_URL,), BY_NUMBER, BY_ID),
    ((), "projects/net-host/locations/europe-west1/connectors/shared-conn",
     "projects/net-host/locations/europe-west1/connectors/shared-conn"),   # a Shared VPC host's: as it is
    ((), None, None),
], ids=["bare id", "bare id, no urls", "own number", "another project", "no connector"])
def test_a_bare_connector_id_is_the_services_own_projects_and_regions(urls, connector, expected):
    assert _service(*urls).connector_by_id(connector) == expected


def test_the_revisions_name_a_bare_connector_id_in_full():
    revisions = [Revision(name=f"{SERVICE}/revisions/orders-00041-mup", service=SERVICE, create_time=at(-60),
                          vpc_connector="shared-conn")]

    assert [r.vpc_connector for r in connectors_by_id(_service(), revisions)] == [BY_ID]
