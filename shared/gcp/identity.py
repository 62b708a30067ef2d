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
"""
from __future__ import annotations

import json
import logging
import os
import re
from typing import Mapping

from shared.config import Config

log = logging.getLogger(__name__)

METADATA_HOST_ENV = "GCE_METADATA_HOST"
DEFAULT_METADATA_HOST = "metadata.google.internal"
EMAIL_PATH = "/computeMetadata/v1/instance/service-accounts/default/email"
CLOUD_RUN_ENV = "K_SERVICE"
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


def as_deployed(config: Config, environ: Mapping[str, str]) -> Config:
    """`config` as the deployed function runs it: with the principal it finds as its own in `environ`
    (`own_principal`: the metadata server GCE_METADATA_HOST names, else the credentials file) among
    diagnosis.self_principals (functions/runtime.py does the same at start). What answers locally as the
    deployed function would (the CLI's replay, eval and diagnose on the sandbox) builds its config by it: without
    it, a change by Runwarden's own account that the config does not list read as a person's and stood automation
    down where the deployed function goes on."""
    return with_own_principal(config, own_principal(environ))

