"""The latency conditions, one per request timeout (infra/latency_conditions), run for real.

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
module "m" {{
  source                   = "{MODULE_DIR}"
  watched_services         = var.watched_services
  request_timeout_seconds  = 300
  service_request_timeouts = var.service_request_timeouts
}}
output "conditions" {{
  value = module.m.conditions
}}
""")
    terraform_run = terraform_in(terraform, root)

    def run(*args: str) -> str:
        done = terraform_run(*args)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


    def apply(watched: list[str], timeouts: dict[str, int]) -> dict[str, Any]:
        run("apply", "-input=false", "-auto-approve", "-lock=false", "-no-color",
            f"-var=watched_services={json.dumps(watched)}", f"-var=service_request_timeouts={json.dumps(timeouts)}")
        return json.loads(run("output", "-json", "conditions"))

    yield apply


def _services(filter_text: str) -> set[str]:
    found = re.search(r"(?<!NOT )resource\.label\.service_name = one_of\(([^)]*)\)", filter_text)
    return set(re.findall(r'"([^"]+)"', found.group(1))) if found else set()


def _excluded(filter_text: str) -> set[str]:
    found = re.search(r"NOT resource\.label\.service_name = one_of\(([^)]*)\)", filter_text)
    return set(re.findall(r'"([^"]+)"', found.group(1))) if found else set()


def _bar_for(conds: dict[str, Any], service: str, watched: list[str]) -> float:
    """The latency bar (ms) the conditions put on `service`: exactly one condition must select it."""
    selecting = []
    for c in conds.values():
        named, excluded = _services(c["filter"]), _excluded(c["filter"])
        if service in named or (not named and not watched and service not in excluded):
            selecting.append(c["threshold_ms"])
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
