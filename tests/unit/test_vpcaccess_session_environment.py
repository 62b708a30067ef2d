"""The VPC Access session reads the environment once, as requests would on every request."""
from __future__ import annotations

import requests

from shared.gcp.vpcaccess import _settle_environment

BASE = "https://vpcaccess.googleapis.com/v1/"


def _settled(monkeypatch, **env: str) -> requests.Session:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
                 "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    session = requests.Session()
    expected = session.merge_environment_settings(BASE + "projects/p/locations/l/connectors/c", {}, None, None, None)
    _settle_environment(session, BASE)
    assert not session.trust_env
    # What requests now merges for a request equals what it read from the environment before.
    after = session.merge_environment_settings(BASE + "projects/p/locations/l/connectors/c", {}, None, None, None)
    assert after == expected
    return session


def test_no_proxy_settings(monkeypatch):
    assert _settled(monkeypatch).proxies == {}


def test_a_proxy_and_a_ca_bundle_are_kept(monkeypatch):
    session = _settled(monkeypatch, HTTPS_PROXY="http://proxy.internal:3128", REQUESTS_CA_BUNDLE="/etc/ca.pem")
    assert session.proxies["https"] == "http://proxy.internal:3128"
    assert session.verify == "/etc/ca.pem"


def test_no_proxy_for_the_api_host_is_honoured(monkeypatch):
    session = _settled(monkeypatch, HTTPS_PROXY="http://proxy.internal:3128", NO_PROXY="googleapis.com")
    assert "https" not in session.proxies
