"""A Cloud SQL instance connection name that names no instance: the connectors ask the Cloud SQL
Admin API for it, which answers 404 on every revision that gives that name. The Python connector's
form of that answer is read as the database side's "no such instance", so an instance deleted or
renamed under an image-only deploy competes with the deploy instead of being rolled back."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import Refusal, refusal_of
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
PYTHON_404 = ("aiohttp.client_exceptions.ClientResponseError: 404, message='The Cloud SQL instance does not exist.', "
              "url='https://sqladmin.googleapis.com/sql/v1beta4/projects/p/instances/main-db/connectSettings'")
PROXY_404 = (f'[{SQL}] failed to connect to instance: failed to get instance: Refresh error: failed to get instance '
             f'metadata (connection name = "{SQL}"): googleapi: Error 404: The Cloud SQL instance does not exist., '
             "instanceDoesNotExist")


@pytest.mark.parametrize("text", [PYTHON_404, PROXY_404])
def test_the_admin_apis_404_is_read_as_no_such_instance(text):
    assert refusal_of(text) == Refusal.NO_SUCH_INSTANCE


@pytest.mark.parametrize("text", [PYTHON_404, PROXY_404])
def test_an_instance_gone_under_an_image_only_deploy_is_not_rolled_back(text):
    bundle = (Evidence().revision(OLD, -300, sql=(SQL,), env=(SQL,)).revision(NEW, -6, sql=(SQL,), env=(SQL,))
              .traffic(**{NEW: 100}).requests(OLD, -90, -6, 40).latency(OLD, -90, -6, 0.2)
              .requests(NEW, -6, 5, 14).requests(NEW, -6, 5, 20, code="500").latency(NEW, -6, 5, 0.5)
              .connector(max_instances=3).connector_metric("instances", -40, 5, 2)
              .connector_metric("cpu", -40, 5, 0.3).connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1)
              .log(-5, text, NEW, count=20)).bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == (Signature.INCONCLUSIVE, None), result.summary
