"""Runwarden finds its own principal: from a metadata server that behaves as Cloud Run's does,
or from an ADC credentials file; and adds it to self_principals without losing configured ones."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from shared.config import parse_config
from shared.gcp.identity import EMAIL_PATH, from_credentials_file, own_principal, with_own_principal

RUNTIME_ACCOUNT = "runwarden-on-alert@my-project.iam.gserviceaccount.com"


class _MetadataHandler(BaseHTTPRequestHandler):
    """The instance metadata server's answers for the one path Runwarden reads. Like Google's,
    it refuses a request without `Metadata-Flavor: Google` with 403 (Compute Engine "About VM
    metadata": the header is required) and answers plain text."""

    email = RUNTIME_ACCOUNT

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.headers.get("Metadata-Flavor") != "Google":
            self._answer(403, "Missing required header: Metadata-Flavor")
        elif self.path == EMAIL_PATH:
            self._answer(200, self.email)
        else:
            self._answer(404, "not found")

    def _answer(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/text")
        self.send_header("Metadata-Flavor", "Google")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def metadata_host() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MetadataHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _config(**diagnosis: object):
    return parse_config({"project": "p", "outcomes_topic": "projects/p/topics/outcomes", "diagnosis": diagnosis})


def test_on_cloud_run_the_metadata_server_names_the_account(metadata_host: str) -> None:
    environ = {"K_SERVICE": "runwarden-on-alert", "GCE_METADATA_HOST": metadata_host}
    assert own_principal(environ) == RUNTIME_ACCOUNT


def test_the_metadata_server_wins_over_a_credentials_file(metadata_host: str, tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"type": "service_account", "client_email": "ci@other.iam.gserviceaccount.com"}))
    environ = {"K_SERVICE": "x", "GCE_METADATA_HOST": metadata_host, "GOOGLE_APPLICATION_CREDENTIALS": str(key)}
    assert own_principal(environ) == RUNTIME_ACCOUNT


def test_an_unreachable_metadata_server_falls_back_and_does_not_raise(tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"type": "service_account", "client_email": "ci@other.iam.gserviceaccount.com"}))
    environ = {"K_SERVICE": "x", "GCE_METADATA_HOST": "127.0.0.1:9", "GOOGLE_APPLICATION_CREDENTIALS": str(key)}
    assert own_principal(environ, timeout=0.5) == "ci@other.iam.gserviceaccount.com"
    assert own_principal({"K_SERVICE": "x", "GCE_METADATA_HOST": "127.0.0.1:9"}, timeout=0.5) is None


def test_a_metadata_answer_that_is_not_an_email_is_ignored(metadata_host: str, monkeypatch) -> None:
    monkeypatch.setattr(_MetadataHandler, "email", "<html>proxy error</html>")
    assert own_principal({"K_SERVICE": "x", "GCE_METADATA_HOST": metadata_host}) is None


@pytest.mark.parametrize(("info", "expected"), [
    ({"type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com", "private_key": "-"},
     "sa@p.iam.gserviceaccount.com"),
    ({"type": "impersonated_service_account",
      "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
                                           "rw@p.iam.gserviceaccount.com:generateAccessToken"},
     "rw@p.iam.gserviceaccount.com"),
    ({"type": "external_account",
      "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
                                           "wif@p.iam.gserviceaccount.com:generateAccessToken"},
     "wif@p.iam.gserviceaccount.com"),
    # A person is never Runwarden: their own changes must still stand automation down.
    ({"type": "authorized_user", "client_id": "x", "refresh_token": "y"}, None),
    (["not", "an", "object"], None),
])
def test_credentials_files(tmp_path: Path, info: object, expected: str | None) -> None:
    path = tmp_path / "adc.json"
    path.write_text(json.dumps(info))
    assert from_credentials_file(str(path)) == expected


def test_no_environment_no_principal(tmp_path: Path) -> None:
    assert own_principal({}) is None
    assert from_credentials_file(str(tmp_path / "missing.json")) is None


def test_the_principal_is_added_to_the_configured_ones() -> None:
    config = _config(self_principals=["deployer@p.iam.gserviceaccount.com"])
    updated = with_own_principal(config, RUNTIME_ACCOUNT)
    assert updated.diagnosis.self_principals == ("deployer@p.iam.gserviceaccount.com", RUNTIME_ACCOUNT)
    assert with_own_principal(updated, RUNTIME_ACCOUNT) == updated
    assert with_own_principal(config, None) is config
    assert config.diagnosis.self_principals == ("deployer@p.iam.gserviceaccount.com",)


def test_the_runtime_names_its_account_on_every_timeline_line(metadata_host: str, monkeypatch) -> None:
    """The account found at start-up is named on every step line (`runwarden.principal`), so the timeline
    tells Runwarden's own write in the audit log from another service account's (docs/timeline.md)."""
    import io

    import shared.config
    import shared.pipeline
    from functions import runtime
    from shared.timeline import writer

    monkeypatch.setenv("GCE_METADATA_HOST", metadata_host)
    monkeypatch.setattr(shared.config, "load_config", lambda: _config())
    monkeypatch.setattr(shared.pipeline, "google_adapters", lambda config: None)
    monkeypatch.setattr(writer, "_principal", None)

    config, _ = runtime._build()

    out = io.StringIO()
    writer.Timeline("0.abc", stream=out).step("claimed", "claimed")
    assert json.loads(out.getvalue())["runwarden"]["principal"] == RUNTIME_ACCOUNT
    assert RUNTIME_ACCOUNT in config.diagnosis.self_principals
