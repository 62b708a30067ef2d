"""A database (or Cloud SQL's Admin API) that answered, in the words of clients the certificate, API and
instance-state rows did not read: an untrusted server certificate in asyncpg's, Prisma's, Sequelize's,
gorm's and an application's own words that name the database's address; the Cloud SQL Admin API disabled
in the project; the instance in no state to serve (the Admin API's 409). None is the connector's to scale; each
names what a person checks. And the controls: the same verdicts from a call to another service are no
answer of the database's, so a saturated connector beside them is still scaled."""
from __future__ import annotations

import pytest

from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import Refusal, refusal_of
from shared.diagnosis.signatures import Signature

from tests.unit.builders import Evidence
from tests.unit.test_database_refusals import DIAL, OLD, S, newly_saturated, serving
from tests.unit.test_database_refusals import test_database_and_secret_incidents as judged

# asyncpg raises Python's ssl verdict from its own TLS upgrade (asyncpg/connect_utils.py
# _create_ssl_connection, loop.start_tls), unwrapped; SQLAlchemy's asyncpg dialect passes it on as is.
ASYNCPG = ('Traceback (most recent call last):\n'
           '  File "/usr/local/lib/python3.12/site-packages/asyncpg/connect_utils.py", line 1049, in _connect\n'
           '    raise last_error or exceptions.TargetServerAttributeNotMatched(\n'
           '  File "/usr/local/lib/python3.12/site-packages/asyncpg/connect_utils.py", line 808, in '
           '_create_ssl_connection\n    new_tr = await loop.start_tls(\n'
           '  File "/usr/local/lib/python3.12/asyncio/sslproto.py", line 578, in _on_handshake_complete\n'
           '    raise handshake_exc\n'
           'ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed '
           'certificate in certificate chain (_ssl.c:1000)')
SQLALCHEMY_ASYNCPG = ('Traceback (most recent call last):\n'
                      '  File "/app/.venv/lib/python3.11/site-packages/sqlalchemy/ext/asyncio/engine.py", line 1055, '
                      'in begin\n    async with conn:\n'
                      '  File "/app/.venv/lib/python3.11/site-packages/sqlalchemy/dialects/postgresql/asyncpg.py", '
                      'line 1095, in connect\n    await_only(creator_fn(*arg, **kw)),\n'
                      '  File "/app/.venv/lib/python3.11/site-packages/asyncpg/connect_utils.py", line 759, in '
                      '__connect_addr\n    tr, pr = await connector\n'
                      'ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: '
                      'unable to get local issuer certificate (_ssl.c:1006)')
PRISMA = ("PrismaClientInitializationError: Error opening a TLS connection: self-signed certificate in certificate "
          "chain")
PRISMA_OPENSSL = ("Error: P1011: Error opening a TLS connection: error:0A000086:SSL routines:tls_post_process_server_"
                  "certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889: (self-signed certificate in "
                  "certificate chain)")
SEQUELIZE = "SequelizeConnectionError: self-signed certificate in certificate chain"
GORM = ("[error] failed to initialize database, got error tls: failed to verify certificate: x509: certificate signed "
        "by unknown authority")
# go-sql-driver/mysql and node-postgres return the TLS verdict bare: only an application's line that names
# the database's address says whose certificate it was.
GO_MYSQL_ADDRESS = ("db ping tcp(10.40.0.3:3306): tls: failed to verify certificate: x509: certificate signed by "
                    "unknown authority")
NODE_PG_ADDRESS = "database 10.40.0.3:5432 unreachable: Error: unable to verify the first certificate"
NODE_PG_ADDRESS_CHAIN = "connect to postgres://orders@10.40.0.3:5432/orders failed: self-signed certificate in certificate chain"
API_DISABLED_GO = ('[shop-prod:us-central1:orders-db] failed to connect to instance: failed to get instance: Refresh '
                   'error: failed to get instance metadata (connection name = "shop-prod:us-central1:orders-db"): '
                   "googleapi: Error 403: Cloud SQL Admin API has not been used in project 418207365093 before or it "
                   "is disabled. Enable it by visiting https://console.developers.google.com/apis/api/sqladmin."
                   "googleapis.com/overview?project=418207365093 then retry. If you enabled this API recently, wait a "
                   "few minutes for the action to propagate to our systems and retry., accessNotConfigured")
API_DISABLED_PY = ("aiohttp.client_exceptions.ClientResponseError: 403, message='Cloud SQL Admin API has not been used "
                   "in project 418207365093 before or it is disabled. Enable it by visiting https://console.developers"
                   ".google.com/apis/api/sqladmin.googleapis.com/overview?project=418207365093 then retry.', "
                   "url='https://sqladmin.googleapis.com/sql/v1beta4/projects/p/instances/i/connectSettings'")
API_DISABLED_JAVA = ('java.lang.RuntimeException: [shop-prod:us-central1:orders-db] The Google Cloud SQL Admin API is '
                     'not enabled for the project "shop-prod". Please use the Google Developers Console to enable it: '
                     "https://console.cloud.google.com/apis/api/sqladmin/overview?project=shop-prod")
NOT_RUNNING_GO = ('[shop-prod:us-central1:orders-db] failed to connect to instance: failed to get instance: Refresh '
                  'error: failed to get instance metadata (connection name = "shop-prod:us-central1:orders-db"): '
                  "googleapi: Error 409: The instance or operation is not in an appropriate state to handle the "
                  "request., invalidState")
NOT_RUNNING_PY = ("aiohttp.client_exceptions.ClientResponseError: 409, message='The instance or operation is not in an "
                  "appropriate state to handle the request.', url='https://sqladmin.googleapis.com/sql/v1beta4/"
                  "projects/p/instances/i/connectSettings'")

# The same verdicts from the application's calls to other services: no database's answer.
DOWNSTREAM_X509 = ('Post "https://payments.example.com/v1/charges": tls: failed to verify certificate: x509: '
                   "certificate signed by unknown authority")
DOWNSTREAM_X509_PORT = ('Get "https://partner.example.com:5432/v1/rates": tls: failed to verify certificate: x509: '
                        "certificate signed by unknown authority")
NODE_BARE = ("Error: self-signed certificate in certificate chain\n    at TLSSocket.onConnectSecure (node:_tls_wrap:"
             "1674:34)\n    at TLSSocket.emit (node:events:519:28) {\n  code: 'SELF_SIGNED_CERT_IN_CHAIN'\n}")
PYTHON_HTTPS = ("requests.exceptions.SSLError: HTTPSConnectionPool(host='api.example.com', port=443): Max retries "
                "exceeded with url: / (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] "
                "certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1006)')))")
OTHER_API_DISABLED = ("googleapi: Error 403: Cloud Storage JSON API has not been used in project 418207365093 before or "
                      "it is disabled., accessNotConfigured")

READ = {
    **{f"certificate: {name}": (text, Refusal.CERTIFICATE) for name, text in (
        ("asyncpg", ASYNCPG), ("SQLAlchemy over asyncpg", SQLALCHEMY_ASYNCPG), ("Prisma P1011", PRISMA),
        ("Prisma P1011, OpenSSL's words", PRISMA_OPENSSL), ("Sequelize", SEQUELIZE), ("gorm", GORM),
        ("go-sql-driver/mysql with the address", GO_MYSQL_ADDRESS),
        ("node-postgres with the address, leaf", NODE_PG_ADDRESS),
        ("node-postgres with the address, chain", NODE_PG_ADDRESS_CHAIN))},
    **{f"Admin API disabled: {name}": (text, Refusal.ADMIN_API_DISABLED) for name, text in (
        ("Auth Proxy / Go connector", API_DISABLED_GO), ("Python connector", API_DISABLED_PY),
        ("Java connector", API_DISABLED_JAVA))},
    **{f"instance not in a state to serve: {name}": (text, Refusal.NOT_SERVING) for name, text in (
        ("Auth Proxy / Go connector, 409", NOT_RUNNING_GO), ("Python connector, 409", NOT_RUNNING_PY))},
    **{f"no database's answer: {name}": (text, "") for name, text in (
        ("Go HTTPS call", DOWNSTREAM_X509), ("Go HTTPS call on a database's port number", DOWNSTREAM_X509_PORT),
        ("node's verdict bare", NODE_BARE), ("requests' verdict", PYTHON_HTTPS),
        ("another API disabled", OTHER_API_DISABLED))},
}


@pytest.mark.parametrize("text,refusal", READ.values(), ids=READ.keys())
def test_what_answered(text, refusal):
    assert refusal_of(text) == refusal


INCIDENTS = {
    **{f"{name} while the connector is newly saturated: no scale-up, {said} named": dict(
        build=lambda e, text=text: newly_saturated(serving(e, code="503")).log(-5, text, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names=said)
       for name, text, said in (
           ("asyncpg's untrusted certificate", ASYNCPG, "certificate"),
           ("SQLAlchemy over asyncpg, untrusted certificate", SQLALCHEMY_ASYNCPG, "certificate"),
           ("Prisma's P1011", PRISMA, "certificate"),
           ("gorm's untrusted certificate", GORM, "certificate"),
           ("an untrusted certificate at the database's address", GO_MYSQL_ADDRESS, "certificate"),
           ("the Admin API disabled (Go)", API_DISABLED_GO, "gcloud services enable sqladmin.googleapis.com"),
           ("the Admin API disabled (Python)", API_DISABLED_PY, "gcloud services enable sqladmin.googleapis.com"),
           ("the Admin API disabled (Java)", API_DISABLED_JAVA, "gcloud services enable sqladmin.googleapis.com"),
           ("the instance not in a state to serve (409)", NOT_RUNNING_GO, "activation policy"))},
    **{f"dial timeouts at a saturated connector beside {name}: the connector is still scaled": dict(
        build=lambda e, text=text: (newly_saturated(serving(e, code="503", latency=31)).log(-5, DIAL, OLD, count=20)
                                    .log(-4, text, OLD, count=3)),
        expect=Signature.CONNECTOR_SATURATION, action="scale_connector")
       for name, text in (("one downstream's x509 verdict", DOWNSTREAM_X509),
                          ("node's bare verdict", NODE_BARE))},
}


@pytest.mark.parametrize("case", INCIDENTS.values(), ids=INCIDENTS.keys())
def test_incidents(case):
    judged(case)


@pytest.mark.parametrize("text", (API_DISABLED_GO, API_DISABLED_JAVA), ids=("Go", "Java"))
def test_the_admin_api_disabled_is_no_database_refusal(text):
    """The lead says the Admin API refused and the connections were never dialled, not that the database did."""
    result = diagnose(newly_saturated(serving(Evidence(), code="503")).log(-5, text, OLD, count=25).bundle(), S)
    assert "connections are never dialled" in result.summary
    assert "the database refuses" not in result.summary
