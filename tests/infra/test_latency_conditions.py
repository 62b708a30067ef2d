"""The latency conditions, one per request timeout (infra/latency_conditions), and the watched
services' selection every other Cloud Run policy uses, run for real.

A service's request timeout is its own, and the diagnosis reads each revision's: p99 cannot pass
it, so a single bar of 0.9 x one timeout never fires for a service whose timeout is shorter. The
module needs no provider, so the test applies a root that calls it (outputs only) and reads its
output.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterator

import pytest

from tests.infra.terraform import INFRA, require_tool, terraform_in

MODULE_DIR = INFRA / "latency_conditions"


@pytest.fixture(scope="module")
def conditions(tmp_path_factory) -> Iterator[Callable[..., dict[str, Any]]]:
    terraform = require_tool("terraform", "terraform is not on the PATH: the latency conditions are not run")
    root = tmp_path_factory.mktemp("latency_conditions_root")
    (root / "main.tf").write_text(f"""
variable "watched_services" {{
  type = list(string)
}}
variable "service_request_timeouts" {{
  type = map(number)
}}
variable "own_services" {{
  type = list(string)
}}
module "m" {{
  source                   = "{MODULE_DIR}"
  watched_services         = var.watched_services
  own_services             = var.own_services
  request_timeout_seconds  = 300
  service_request_timeouts = var.service_request_timeouts
}}
output "conditions" {{
  value = module.m.conditions
}}
output "service_filter" {{
  value = module.m.service_filter
}}
""")
    terraform_run = terraform_in(terraform, root)

    def run(*args: str) -> str:
        done = terraform_run(*args)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


    def apply(watched: list[str], timeouts: dict[str, int], own: list[str] = (), output: str = "conditions") -> Any:
        run("apply", "-input=false", "-auto-approve", "-lock=false", "-no-color",
            f"-var=watched_services={json.dumps(watched)}", f"-var=service_request_timeouts={json.dumps(timeouts)}",
            f"-var=own_services={json.dumps(list(own))}")
        return json.loads(run("output", "-json", output))

    def refused(watched: list[str], own: list[str]) -> str:
        done = terraform_run("apply", "-input=false", "-auto-approve", "-lock=false", "-no-color",
                             f"-var=watched_services={json.dumps(watched)}", "-var=service_request_timeouts={}",
                             f"-var=own_services={json.dumps(own)}")
        assert done.returncode != 0, f"applied: {done.stdout}"
        return done.stdout + done.stderr

    apply.refused = refused
    yield apply


def _services(filter_text: str) -> set[str]:
    found = re.search(r"(?<!NOT )resource\.label\.service_name = one_of\(([^)]*)\)", filter_text)
    return set(re.findall(r'"([^"]+)"', found.group(1))) if found else set()


def _excluded(filter_text: str) -> set[str]:
    found = re.search(r"NOT resource\.label\.service_name = one_of\(([^)]*)\)", filter_text)
    return set(re.findall(r'"([^"]+)"', found.group(1))) if found else set()


def _selects(filter_text: str, service: str) -> bool:
    """Whether a filter's service clause takes `service`: named by its one_of, or, without one, not
    excluded by its NOT one_of."""
    named = _services(filter_text)
    return service in named if named else service not in _excluded(filter_text)


def _bar_for(conds: dict[str, Any], service: str, watched: list[str]) -> float:
    """The latency bar (ms) the conditions put on `service`: exactly one condition must select it."""
    selecting = [c["threshold_ms"] for c in conds.values() if _selects(c["filter"], service)]
    assert len(selecting) == 1, f"{service}: selected by {len(selecting)} conditions: {conds}"
    return selecting[0]


@pytest.mark.parametrize("watched", [[], ["backend", "api", "jobs"]], ids=["every service", "listed services"])
def test_each_service_is_held_to_its_own_request_timeout(conditions, watched) -> None:
    timeouts = {"api": 30, "jobs": 3600}
    conds = conditions(watched, timeouts)
    for service, timeout in (("backend", 300), ("api", 30), ("jobs", 3600)):
        bar = _bar_for(conds, service, watched)
        assert bar == pytest.approx(timeout * 1000 * 0.9), f"{service}: bar {bar} ms for a {timeout} s timeout"
        # p99 can reach the bar: it lies under the service's own timeout.
        assert bar < timeout * 1000


def test_services_sharing_a_timeout_share_one_condition(conditions) -> None:
    conds = conditions(["a", "b", "c"], {"a": 60, "b": 60})
    assert sorted(conds) == ["60s", "default"]
    assert _services(conds["60s"]["filter"]) == {"a", "b"}
    assert _services(conds["default"]["filter"]) == {"c"}


def test_no_default_condition_when_every_listed_service_has_its_own(conditions) -> None:
    assert sorted(conditions(["a"], {"a": 60})) == ["60s"]


def test_without_own_timeouts_one_condition_covers_the_watched_services(conditions) -> None:
    conds = conditions([], {})
    assert list(conds) == ["default"] and "service_name" not in conds["default"]["filter"]
    assert conds["default"]["threshold_ms"] == pytest.approx(270000)


def test_a_timeout_for_an_unwatched_service_watches_nothing_more(conditions) -> None:
    conds = conditions(["a"], {"a": 60, "elsewhere": 30})
    assert sorted(conds) == ["60s"] and _services(conds["60s"]["filter"]) == {"a"}


# Runwarden's own functions, as infra/locals.tf names them (own_services) at the default name_prefix.
OWN = ["runwarden-on-alert", "runwarden-on-command", "runwarden-timeline"]


@pytest.mark.parametrize("timeouts", [{}, {"api": 30}], ids=["one timeout", "a timeout of its own"])
def test_runwardens_own_functions_are_never_watched(conditions, timeouts) -> None:
    """With every service watched, Runwarden's own functions are not: on_alert waits up to 300 s on a
    connector update by design and answers 5xx so that Pub/Sub redelivers, which would otherwise fire
    the latency, 504 and 5xx-ratio policies about Runwarden itself, page people as a watched service's
    incident and send Runwarden alerts about itself."""
    conds = conditions([], timeouts, OWN)
    selection = conditions([], timeouts, OWN, output="service_filter")
    for service in OWN:
        assert not any(_selects(c["filter"], service) for c in conds.values()), (service, conds)
        assert not _selects(selection, service), selection
    for service in ("backend", *timeouts):
        assert _selects(selection, service), selection
        _bar_for(conds, service, [])


def test_the_watched_services_selection_names_the_listed_ones(conditions) -> None:
    selection = conditions(["backend", "api"], {}, OWN, output="service_filter")
    assert selection == ' AND resource.label.service_name = one_of("backend", "api")'
    assert conditions([], {}, [], output="service_filter") == ""


def test_listing_runwardens_own_function_as_watched_is_refused(conditions) -> None:
    said = conditions.refused(["backend", "runwarden-on-alert"], OWN)
    assert "watched_services names Runwarden's own functions (runwarden-on-alert)" in " ".join(said.split())
