"""The sandbox's metadata server (sandbox/standins/metadata.py) answers as Google's does the one request
Runwarden makes of it, so that a process pointed at it by GCE_METADATA_HOST finds its own principal through the
product's own path (shared/gcp/identity.py `own_principal`), as a deployed function does: no configured
self_principals, no sandbox-only branch. A request without `Metadata-Flavor: Google` is refused, another path is
not found, and the product reads neither as a principal."""
from __future__ import annotations

from typing import Iterator

import pytest
import requests

from sandbox.standins.metadata import MetadataStandIn
from sandbox.standins.run import RUNWARDEN_CALLER
from shared.gcp.identity import EMAIL_PATH, from_metadata_server, own_principal


@pytest.fixture
def metadata() -> Iterator[MetadataStandIn]:
    standin = MetadataStandIn(RUNWARDEN_CALLER)
    standin.start()
    yield standin
    standin.stop()


def test_the_product_finds_the_sandboxs_principal_as_it_finds_its_own_on_cloud_run(metadata):
    assert own_principal(metadata.env()) == RUNWARDEN_CALLER
    assert own_principal({"K_SERVICE": "runwarden-alerts", **metadata.env()}) == RUNWARDEN_CALLER
    assert metadata.requests == [(EMAIL_PATH, True), (EMAIL_PATH, True)]


def test_a_request_without_the_flavor_header_is_refused_and_another_path_is_not_found(metadata):
    bare = requests.get(f"http://{metadata.address}{EMAIL_PATH}", timeout=5)
    assert bare.status_code == 403 and RUNWARDEN_CALLER not in bare.text
    other = requests.get(f"http://{metadata.address}/computeMetadata/v1/instance/id",
                         headers={"Metadata-Flavor": "Google"}, timeout=5)
    assert other.status_code == 404 and other.headers["Metadata-Flavor"] == "Google"
    found = requests.get(f"http://{metadata.address}{EMAIL_PATH}", headers={"Metadata-Flavor": "Google"}, timeout=5)
    assert found.status_code == 200 and found.text == RUNWARDEN_CALLER and found.headers["Metadata-Flavor"] == "Google"


def test_another_account_is_answered_as_given(metadata):
    other = MetadataStandIn("runwarden-prod@shop-prod.iam.gserviceaccount.com")
    other.start()
    try:
        assert from_metadata_server(other.address, 2.0) == "runwarden-prod@shop-prod.iam.gserviceaccount.com"
    finally:
        other.stop()
    assert from_metadata_server(other.address, 0.5) is None   # stopped: nothing found, not an error
