"""An alert about Runwarden's own function (Config.own_services): only the same project, region and name is its own,
and a config that also manages it is refused at load."""
from __future__ import annotations

import pytest

from shared.config import ConfigError, parse_config

OWN = "projects/rw-project/locations/us-central1/services/runwarden-on-alert"


def _config(**extra):
    return parse_config({"project": "rw-project", "outcomes_topic": "projects/rw-project/topics/out", **extra})


@pytest.mark.parametrize("service, own", [
    (OWN, True),
    ("projects/rw-project/locations/us-central1/services/runwarden-on-command", False),   # not listed
    ("projects/other-project/locations/us-central1/services/runwarden-on-alert", False),  # same name, other project
    ("projects/rw-project/locations/europe-west1/services/runwarden-on-alert", False),    # same name, other region
    ("projects/rw-project/locations/us-central1/services/backend", False),
])
def test_only_the_same_project_region_and_name_is_own(service, own):
    assert _config(own_services=[OWN]).owns(service) is own


def test_a_config_managing_its_own_function_is_refused_at_load():
    with pytest.raises(ConfigError, match="Runwarden's own function .*never acts on its own service"):
        _config(services=[{"name": OWN}], own_services=[OWN])


def test_a_service_of_its_name_elsewhere_may_still_be_managed():
    elsewhere = OWN.replace("rw-project", "team-project")
    config = _config(services=[{"name": elsewhere}], own_services=[OWN])
    assert config.manages(elsewhere) and not config.owns(elsewhere)


@pytest.mark.parametrize("name, problem", [("runwarden-on-alert", "must be a full name"),
                                           ("projects/rw-project/locations/global/services/x", "is not a region")])
def test_an_own_service_is_a_full_name_in_a_region(name, problem):
    with pytest.raises(ConfigError, match=f"own_services: .*{problem}"):
        _config(own_services=[name])


def test_an_own_service_listed_twice_is_refused():
    with pytest.raises(ConfigError, match="listed more than once"):
        _config(own_services=[OWN, OWN])


def test_the_reason_names_the_function_and_where_to_look():
    from shared.alerts.reasons import own_function

    reason = own_function(OWN, "Runwarden 5xx")
    assert reason.startswith("an alert about Runwarden's own function runwarden-on-alert")
    assert "not acted on" in reason and "logs" in reason and "revisions" in reason
    assert "--project rw-project --region us-central1" in reason and "'Runwarden 5xx'" in reason


ENV = {"K_SERVICE": "runwarden-on-alert", "RUNWARDEN_REGION": "us-central1",
       "RUNWARDEN_OWN_SERVICES": "runwarden-on-alert,runwarden-on-command,runwarden-timeline"}


@pytest.mark.parametrize("environ, names", [
    (ENV, ["runwarden-on-alert", "runwarden-on-command", "runwarden-timeline"]),
    ({"K_SERVICE": "runwarden-on-command", "RUNWARDEN_REGION": "us-central1"}, ["runwarden-on-command"]),
    ({**ENV, "K_SERVICE": "renamed-by-hand"}, ["renamed-by-hand", "runwarden-on-alert", "runwarden-on-command",
                                               "runwarden-timeline"]),
    ({"K_SERVICE": "runwarden-on-alert"}, []),                                   # no region: a guess, so none
    ({**ENV, "RUNWARDEN_REGION": "us-central1-a"}, []),                          # a zone is no region
    ({**ENV, "RUNWARDEN_OWN_SERVICES": " , Bad_Name"}, ["runwarden-on-alert"]),   # no service id: left out
    ({}, []),
])
def test_own_services_are_told_by_the_container_contract_and_the_deployment(environ, names):
    from shared.gcp.identity import own_services

    assert own_services(environ, "rw-project") == tuple(
        f"projects/rw-project/locations/us-central1/services/{name}" for name in names)


def test_the_functions_own_services_join_the_config_and_a_config_managing_one_is_refused():
    from shared.gcp.identity import as_deployed, own_services, with_own_services

    names = own_services(ENV, "rw-project")
    config = with_own_services(_config(own_services=[OWN]), names)
    assert config.own_services == names and config.owns(OWN.replace("on-alert", "on-command"))
    # No K_SERVICE: with it, as_deployed also asks the metadata server for the principal (I/O).
    deployed = {k: v for k, v in ENV.items() if k != "K_SERVICE"}
    assert as_deployed(_config(), deployed).own_services == names
    with pytest.raises(ConfigError, match="runwarden-on-command is Runwarden's own function"):
        with_own_services(_config(services=[{"name": OWN.replace("on-alert", "on-command")}]), names)


def test_the_sandbox_runs_each_function_as_the_service_infra_deploys():
    """The sandbox's stack tells each function its own services by the names infra/ deploys them under (the default
    name_prefix): the timeline ran as runwarden-incident-timeline, a name no deployment has."""
    import re
    from pathlib import Path

    from sandbox.stack import function_service_name

    locals_tf = (Path(__file__).resolve().parents[2] / "infra" / "locals.tf").read_text()
    deployed = re.search(r"own_services\s*=\s*\[([^\]]*)\]", locals_tf).group(1)
    names = [n.replace("${var.name_prefix}", "runwarden") for n in re.findall(r'"([^"]+)"', deployed)]
    assert [function_service_name(t) for t in ("on_alert", "on_command", "incident_timeline")] == names
