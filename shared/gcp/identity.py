"""Runwarden's own principal: the service account its code runs as, found without configuration.

Audit log entries name who changed a service (`authenticationInfo.principalEmail`). Runwarden's
own rollback must never read as a person's change, so diagnosis skips its own principal
(`diagnosis.self_principals`, to which the one found here is added).

Where it looks, in order:
  - On Cloud Run (and so in gen2 functions) the container contract sets K_SERVICE and provides
    the metadata server: GET /computeMetadata/v1/instance/service-accounts/default/email with the
    header `Metadata-Flavor: Google` answers the runtime service account's email (Cloud Run
    "Container runtime contract", "Instance metadata server"). GCE_METADATA_HOST names another
    host, as google-auth's own metadata client honours it.
  - Elsewhere, Application Default Credentials from GOOGLE_APPLICATION_CREDENTIALS: a service
    account key's `client_email`, or the account an impersonation or workload identity file
    names in `service_account_impersonation_url`. A person's credentials (`authorized_user`) are
    not Runwarden: nothing is returned for them.
Nothing found is not an error: the configured self_principals still apply.

Runwarden's own functions as Cloud Run services (`own_services`, added to the config's own_services): an alert
about one is told to a person and never acted on. The container contract sets K_SERVICE, "The name of the Cloud Run
service being run" (K_REVISION and K_CONFIGURATION name its revision and configuration; Cloud Run "Container runtime
contract", Environment variables), and a Cloud Run function runs as a Cloud Run service ("deployed as a service on
Cloud Run": Google Cloud, "Compare Cloud Run functions"), so on_alert's K_SERVICE is its own service's id. It gives
neither the project nor the region, and on_alert must also know on_command's and the timeline's names (an alert
about on_command reaches on_alert). So infra/functions.tf sets RUNWARDEN_REGION (the functions' region) and
RUNWARDEN_OWN_SERVICES (the three functions' names, comma-separated); the project is the config's own, which
infra/config_check holds to the project the functions are deployed in. Locally, functions-framework sets none of
these (its only use of K_SERVICE is FUNCTION_NAME for a legacy ENTRY_POINT: functions_framework/__init__.py,
create_app), so the sandbox's stack sets all three as Cloud Run and infra/ would (sandbox/stack.py). With no
region, nothing is added: a service id is unique only within its project and region, and a same-named service in
another region is another team's.
"""
from __future__ import annotations

import json
import logging
import os
import re
from typing import Mapping

from shared.config import Config, ConfigError, own_and_managed
from shared.gcp.identifiers import region_problem

log = logging.getLogger(__name__)

METADATA_HOST_ENV = "GCE_METADATA_HOST"
DEFAULT_METADATA_HOST = "metadata.google.internal"
EMAIL_PATH = "/computeMetadata/v1/instance/service-accounts/default/email"
CLOUD_RUN_ENV = "K_SERVICE"
REGION_ENV = "RUNWARDEN_REGION"
OWN_SERVICES_ENV = "RUNWARDEN_OWN_SERVICES"
# A Cloud Run service id: lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen
# (Cloud Run, "Deploying to Cloud Run", service names; its limit of 49 characters is UNCONFIRMED here, so it is not
# checked: a longer one only names no service any alert is about).
_SERVICE_ID = re.compile(r"^[a-z](?:[a-z0-9-]*[a-z0-9])?$")
CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
_IMPERSONATED = re.compile(r"/serviceAccounts/([^/:]+@[^/:]+):generateAccessToken$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]+$")


def own_principal(environ: Mapping[str, str] | None = None, timeout: float = 2.0) -> str | None:
    """The email of the service account this process acts as, or None when it cannot tell."""
    environ = os.environ if environ is None else environ
    if environ.get(CLOUD_RUN_ENV) or environ.get(METADATA_HOST_ENV):
        email = from_metadata_server(environ.get(METADATA_HOST_ENV) or DEFAULT_METADATA_HOST, timeout)
        if email:
            return email
    path = environ.get(CREDENTIALS_ENV)
    return from_credentials_file(path) if path else None


def from_metadata_server(host: str, timeout: float) -> str | None:
    import requests

    try:
        response = requests.get(f"http://{host}{EMAIL_PATH}", headers={"Metadata-Flavor": "Google"},
                                timeout=timeout)
    except requests.RequestException as exc:
        log.warning("own principal: metadata server %s did not answer: %s", host, exc)
        return None
    email = response.text.strip() if response.ok else ""
    if not _EMAIL.match(email):
        log.warning("own principal: metadata server %s answered HTTP %s without an email", host,
                    response.status_code)
        return None
    return email


def from_credentials_file(path: str) -> str | None:
    """The service account an ADC credentials file acts as, or None (a person, or unreadable)."""
    try:
        with open(path, encoding="utf-8") as handle:
            info = json.load(handle)
    except (OSError, ValueError) as exc:
        log.warning("own principal: cannot read %s: %s", path, exc)
        return None
    if not isinstance(info, dict):
        return None
    if info.get("type") == "service_account" and _EMAIL.match(str(info.get("client_email", ""))):
        return str(info["client_email"])
    match = _IMPERSONATED.search(str(info.get("service_account_impersonation_url", "")))
    return match.group(1) if match else None


def with_own_principal(config: Config, principal: str | None) -> Config:
    """`config` with `principal` added to diagnosis.self_principals (unchanged when None or present)."""
    settings = config.diagnosis
    if not principal or principal in settings.self_principals:
        return config
    diagnosis = settings.model_copy(update={"self_principals": (*settings.self_principals, principal)})
    return config.model_copy(update={"diagnosis": diagnosis})


def own_services(environ: Mapping[str, str], project: str) -> tuple[str, ...]:
    """The full names of Runwarden's own functions' services in `project` that `environ` tells (K_SERVICE and
    RUNWARDEN_OWN_SERVICES, in RUNWARDEN_REGION); () without a region. An id or region of another shape is left
    out and logged: it names no Cloud Run service, so no alert is about it."""
    region = environ.get(REGION_ENV, "").strip()
    ids = [environ.get(CLOUD_RUN_ENV, ""), *environ.get(OWN_SERVICES_ENV, "").split(",")]
    ids = [i.strip() for i in ids if i.strip()]
    if not region or region_problem(region) is not None:
        if ids:
            log.warning("own services: %s is %r, not a region: %s not known as Runwarden's own", REGION_ENV, region,
                        ", ".join(ids))
        return ()
    bad = [i for i in ids if not _SERVICE_ID.match(i)]
    if bad:
        log.warning("own services: %s not a Cloud Run service id", ", ".join(bad))
    return tuple(dict.fromkeys(f"projects/{project}/locations/{region}/services/{i}" for i in ids if i not in bad))


def with_own_services(config: Config, names: tuple[str, ...]) -> Config:
    """`config` with `names` added to own_services. Raises ConfigError when it manages one of them: the config
    cannot be used (functions/runtime.py answers 503 and logs config_error, as for a config that does not load)."""
    problem = own_and_managed(names, [s.name for s in config.services])
    if problem:
        raise ConfigError(f"config: {problem}")
    added = tuple(n for n in names if n not in config.own_services)
    return config.model_copy(update={"own_services": (*config.own_services, *added)}) if added else config


def as_deployed(config: Config, environ: Mapping[str, str]) -> Config:
    """`config` as the deployed function runs it: with the principal it finds as its own in `environ`
    (`own_principal`: the metadata server GCE_METADATA_HOST names, else the credentials file) among
    diagnosis.self_principals (functions/runtime.py does the same at start). What answers locally as the
    deployed function would (the CLI's replay, eval and diagnose on the sandbox) builds its config by it: without
    it, a change by Runwarden's own account that the config does not list read as a person's and stood automation
    down where the deployed function goes on."""
    config = with_own_services(config, own_services(environ, config.project))
    return with_own_principal(config, own_principal(environ))

