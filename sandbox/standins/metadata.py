"""The metadata server's one answer Runwarden reads, on 127.0.0.1: the email of the service account the instance
runs as, so that the function the sandbox serves finds its own principal the way a deployed one does
(shared/gcp/identity.py `own_principal`: GCE_METADATA_HOST, then GET EMAIL_PATH), and so reads its own writes
(a Cloud Run UpdateService's last_modifier, an audit entry's principalEmail) as its own, never as a person's.

As Google's metadata server answers (Cloud Run "Container runtime contract", "Instance metadata server"; the
client side in google-auth's google/auth/compute_engine/_metadata.py, which sends `Metadata-Flavor: Google` on
every request, accepts a ping only from a 200 carrying that header back, and reads a 404 as not found):
- GET /computeMetadata/v1/instance/service-accounts/default/email with `Metadata-Flavor: Google`: 200, the email
  as plain text, the response carrying `Metadata-Flavor: Google`;
- the same without that header: refused, 403 (Compute Engine's "Querying VM metadata": a request without it is
  rejected; the status code and the body's words are UNCONFIRMED: identity.from_metadata_server reads any answer
  but a 200 with an email as none found, so either reading leaves the product correct);
- any other path: 404.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandbox.standins.base import serve_http, stop_http
from shared.gcp.identity import EMAIL_PATH

FLAVOR = ("Metadata-Flavor", "Google")


class MetadataStandIn:
    """Answers `email` as the instance's default service account (the identity the sandbox's stand-ins record
    for every write they receive: RunStandIn.caller)."""

    def __init__(self, email: str) -> None:
        self.email = email
        self.address = ""
        self.requests: list[tuple[str, bool]] = []   # (path, whether it carried Metadata-Flavor: Google)
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def env(self) -> dict[str, str]:
        """The variable google-auth and shared/gcp/identity.py find a metadata server by."""
        return {"GCE_METADATA_HOST": self.address}

    def start(self, port: int = 0) -> str:
        """Serves on 127.0.0.1 (port 0 = a free one); returns "127.0.0.1:PORT"."""
        if self._http is not None:
            raise RuntimeError(f"MetadataStandIn already started at {self.address}")
        server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        server.daemon_threads = True
        self._http = server
        self._thread, self.address = serve_http(server, "metadata-standin")
        return self.address

    def stop(self) -> None:
        stop_http(self._http, self._thread)
        self._http, self._thread = None, None

    def answer(self, path: str, flavored: bool) -> tuple[int, str]:
        """(status, body) for a GET of `path`."""
        self.requests.append((path, flavored))
        if not flavored:
            return 403, "Missing Metadata-Flavor:Google header.\n"
        if path == EMAIL_PATH:
            return 200, self.email
        return 404, "Not Found\n"


def _handler_for(standin: MetadataStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            flavored = self.headers.get(FLAVOR[0]) == FLAVOR[1]
            status, body = standin.answer(self.path.split("?", 1)[0], flavored)
            payload = body.encode()
            self.send_response(status)
            self.send_header(*FLAVOR)
            self.send_header("Content-Type", "application/text")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: `requests` is the record

    return Handler
