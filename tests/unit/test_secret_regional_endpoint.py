"""A regional secret's version is read on its location's endpoint (shared/gcp/secretmanager.py, location_of;
shared/gcp/endpoints.py, secret_manager_client), never on the global one.

Secret Manager's regional endpoints, secretmanager.LOCATION.rep.googleapis.com, "only allow requests to proceed
if the affected resource exists in the location specified by the endpoint" (Secret Manager docs, "Secret Manager
locations"), and the regional samples build their client on it ("Get regional secret"). What the global endpoint
answers for a regional name is UNCONFIRMED: a NOT_FOUND there would have been read as the version gone
(rules/target_secrets.py) and held back a rollback onto a revision that can start. No call is made here: the
client is built (with stand-in credentials, read from a file, no network) and its host read."""
from __future__ import annotations

import json

import pytest

from shared.gcp.endpoints import SECRET_MANAGER_EMULATOR_ENV, secret_manager_client
from shared.gcp.secretmanager import GLOBAL, location_of


@pytest.mark.parametrize("name, location", [
    ("projects/p/secrets/db-password/versions/6", GLOBAL),
    ("projects/p/secrets/db-password", GLOBAL),
    ("projects/p/locations/us-east1/secrets/db-password/versions/6", "us-east1"),
    ("projects/p/locations/europe-west4/secrets/db-password", "europe-west4"),
    # a secret whose id is "locations" is a global one (its name has no location segment before /secrets/)
    ("projects/p/secrets/locations/versions/1", GLOBAL),
])
def test_a_name_is_served_by_its_locations_endpoint(name: str, location: str) -> None:
    assert location_of(name) == location


@pytest.fixture
def adc_file(tmp_path, monkeypatch):
    """Application Default Credentials from a file (an authorized_user's, never refreshed here: no call)."""
    path = tmp_path / "adc.json"
    path.write_text(json.dumps({"type": "authorized_user", "client_id": "c", "client_secret": "s",
                                "refresh_token": "r", "quota_project_id": "p"}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.delenv(SECRET_MANAGER_EMULATOR_ENV, raising=False)


@pytest.mark.parametrize("location, host", [
    (GLOBAL, "secretmanager.googleapis.com"),
    ("us-east1", "secretmanager.us-east1.rep.googleapis.com"),
])
def test_the_client_of_a_location_talks_to_its_regional_endpoint(adc_file, location: str, host: str) -> None:
    client = secret_manager_client(location)
    try:
        assert client.api_endpoint == host
    finally:
        client.transport.close()
