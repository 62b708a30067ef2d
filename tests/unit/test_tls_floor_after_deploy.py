"""A TLS mismatch with no setting changed: a deploy whose new image raised the client library's TLS
floor (OpenSSL 3's default security level, a JDK that disabled TLS 1.0/1.1) shows in no setting the
revision holds, and Cloud SQL's own SSL mode or TLS versions changed around the deploy fail the new
revision's new connections the same way while the revision before's pooled connections, opened
before, still serve ("A change to SSL mode configuration applies only to new connections", Cloud SQL
docs). Which it was is not in the evidence: the deploy and the database compete, and a person
chooses (docs/signatures.md, database_unreachable, "Which TLS settings"). Guards: these passed before
this file and must keep passing."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import NEW, deployed, quiet_connector

S = DiagnosisSettings()

TEXTS = {
    "libpq under OpenSSL 3": ('psycopg2.OperationalError: connection to server at "10.20.0.3", port 5432 failed: '
                              "SSL error: unsupported protocol"),
    "libpq, the server's alert": ('sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server '
                                  'at "10.20.0.3", port 5432 failed: SSL error: tlsv1 alert protocol version'),
    "pgjdbc on a JDK that disabled old TLS": ("org.postgresql.util.PSQLException: SSL error: No appropriate protocol "
                                              "(protocol is disabled or cipher suites are inappropriate)"),
    "Connector/J on a JDK that disabled old TLS": (
        "javax.net.ssl.SSLHandshakeException: No appropriate protocol (protocol is disabled or cipher suites are "
        "inappropriate)\n\tat java.base/sun.security.ssl.HandshakeContext.<init>(HandshakeContext.java:170)\n"
        "\tat com.mysql.cj.protocol.ExportControlled.performTlsHandshake(ExportControlled.java:316)"),
}


@pytest.mark.parametrize("text", TEXTS.values(), ids=TEXTS.keys())
def test_a_tls_mismatch_after_a_deploy_that_changed_no_setting_is_escalated(text):
    bundle = quiet_connector(deployed(Evidence()).log(-9, text, NEW, count=20)).bundle()
    result = diagnose(bundle, S)
    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert set(result.competing) == {"bad_revision", "database_unreachable"}, result.summary
    assert plan(result, bundle, S).action is None
