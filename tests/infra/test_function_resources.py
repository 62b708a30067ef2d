"""The plan refuses a function_cpu and function_memory pair Cloud Run refuses (infra/function_resources).

The module is planned by terraform in a root of its own (it needs no provider). The rows are Cloud
Run's "Configure CPU limits for services" vCPU and memory table, each bound met and passed by one unit.
"""
from __future__ import annotations

import json
import re
from typing import Iterator

import pytest

from tests.infra.terraform import INFRA, load_module, require_tool, terraform_in

MODULE = INFRA / "function_resources"


@pytest.fixture(scope="module")
def plan_pair(tmp_path_factory) -> Iterator:
    terraform = require_tool("terraform", "terraform is not on the PATH: the functions' vCPU and memory are not checked")
    root = tmp_path_factory.mktemp("function_resources_root")
    (root / "main.tf").write_text(
        'variable "cpu" {\n  type    = string\n  default = null\n}\n'
        'variable "memory" {\n  type = string\n}\n'
        f'module "check" {{\n  source = "{MODULE}"\n  cpu    = var.cpu\n  memory = var.memory\n}}\n'
        'output "cpu" {\n  value = module.check.cpu\n}\n')
    run = terraform_in(terraform, root)

    def plan(cpu: str | None, memory: str):
        (root / "terraform.tfvars.json").write_text(json.dumps({"cpu": cpu, "memory": memory}))
        return run("plan", "-input=false", "-lock=false", "-no-color")

    yield plan


# (function_cpu, function_memory, accepted)
ROWS = [
    (None, "512Mi", True), (None, "8Gi", True),              # the platform derives the vCPU
    ("0.333", "512Mi", True), ("0.083", "512Mi", True),
    ("0.333", "513Mi", False), ("0.499", "1Gi", False),      # under 0.5 vCPU: at most 512 MiB
    ("0.5", "1Gi", True), ("0.5", "1025Mi", False),          # under 1 vCPU: at most 1 GiB
    ("0.583", "1Gi", True), ("0.999", "2Gi", False),
    ("1", "4Gi", True), ("1", "4097Mi", False), ("1", "512Mi", True), ("1", "128Mi", True),
    ("2", "8Gi", True), ("2", "8193Mi", False),
    ("4", "2Gi", True), ("4", "2047Mi", False), ("4", "512Mi", False), ("4", "16Gi", True), ("4", "17Gi", False),
    ("6", "4Gi", True), ("6", "3Gi", False), ("6", "24Gi", True), ("6", "25Gi", False),
    ("8", "4Gi", True), ("8", "32Gi", True), ("8", "33Gi", False), ("8", "512Mi", False),
    ("1.5", "1Gi", False), ("3", "4Gi", False), ("2.5", "4Gi", False),   # above 1: 2, 4, 6 or 8 only
    ("0.5", "1000M", True), ("0.5", "1074M", False), ("1", "4294967k", True), ("1", "5G", False),
]


@pytest.mark.parametrize("cpu, memory, accepted", ROWS)
def test_cloud_runs_table_decides(plan_pair, cpu, memory, accepted) -> None:
    result = plan_pair(cpu, memory)
    said = re.sub(r"\s+", " ", result.stdout + result.stderr)
    if accepted:
        assert result.returncode == 0, said
    else:
        assert result.returncode != 0, said
        assert "is refused by Cloud Run" in said and f"function_memory = {memory}" in said, said


def test_the_functions_take_their_vcpu_through_the_check() -> None:
    config = load_module(INFRA)
    call = config.modules["function_resources"]
    assert call["source"] == "./function_resources"
    assert call["cpu"] == "${var.function_cpu}" and call["memory"] == "${var.function_memory}", call
    cpus = {name: block["service_config"][0].get("available_cpu")
            for name, block in config.of_type("google_cloudfunctions2_function").items()}
    assert cpus["pubsub"] == "${module.function_resources.cpu}", cpus
