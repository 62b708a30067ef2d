"""cloudbuild.yaml: tests before any deploy step, pinned images, declared substitutions."""
from __future__ import annotations

import re

import pytest
import yaml

from tests.infra.terraform import ROOT

BUILD = yaml.safe_load((ROOT / "cloudbuild.yaml").read_text())
BUILT_IN = {"PROJECT_ID", "BUILD_ID", "PROJECT_NUMBER", "LOCATION", "COMMIT_SHA", "SHORT_SHA", "BRANCH_NAME"}


def _image(name: str) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: BUILD["substitutions"].get(m.group(1), m.group(0)), name)


def test_tests_run_before_terraform() -> None:
    ids = [step["id"] for step in BUILD["steps"]]
    assert ids.index("test") < ids.index("terraform-init") < ids.index("terraform-plan") < ids.index("terraform-apply")
    before = BUILD["steps"][:ids.index("test")]
    assert all("terraform " not in str(step.get("args")) for step in before), "nothing is planned before the tests"
    assert _step("test").get("env") == ["CI=true"]


def test_the_tests_get_terraform_for_the_fmt_check() -> None:
    # Under CI=true a missing terraform fails tests/infra/test_static.py::test_terraform_fmt.
    tools, test = _step("tools"), _step("test")
    assert _image(tools["name"]) == _image("${_TERRAFORM_IMAGE}")
    mounts = lambda step: {(v["name"], v["path"]) for v in step.get("volumes", [])}   # noqa: E731
    assert mounts(tools) & mounts(test), "the test step does not see the tools volume"
    path = next(iter(mounts(tools) & mounts(test)))[1]
    assert not path.startswith("/workspace"), "tools under /workspace would be zipped into the function source"
    assert f'export PATH="{path}:$$PATH"' in test["args"][-1]


def _step(step_id: str) -> dict:
    return next(step for step in BUILD["steps"] if step["id"] == step_id)


def test_images_are_pinned() -> None:
    for step in BUILD["steps"]:
        image = _image(step["name"])
        tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert re.search(r"\d+\.\d+", tag), f"{step['id']}: {image} is not pinned to a version"
    assert "emulators" in _image(_step("test")["name"])


def test_every_substitution_is_declared() -> None:
    text = (ROOT / "cloudbuild.yaml").read_text()
    used = set(re.findall(r"\$\{(\w+)\}", text)) - BUILT_IN
    assert used <= set(BUILD["substitutions"]), used - set(BUILD["substitutions"])


def test_ci_stops_at_once_without_terraform(tmp_path) -> None:
    """.ci/run under CI=true on a machine without terraform: one clear line before anything runs,
    not infra test failures after the whole suite. The PATH holds only what the check itself uses
    (no make, no apt-get), so nothing else can start."""
    import os
    import shutil
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "id"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    done = subprocess.run([str(bin_dir / "bash"), str(ROOT / ".ci" / "run")], env={"PATH": str(bin_dir), "CI": "true"},
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "CI=true and terraform (1.9 or later) is not on the PATH" in done.stderr, done.stderr


# --- The plan step's project and region, run as Cloud Build runs it -------------------------------

def _substituted(text: str, values: dict[str, str]) -> str:
    """Cloud Build's substitution: `$$` is a literal `$`; `${NAME}` and `$NAME` take the value (with
    ALLOW_LOOSE, an unknown one is empty)."""
    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return values.get(match.group(1) or match.group(2), "")
    return re.sub(r"\$\$|\$\{(\w+)\}|\$(\w+)", one, text)


def _run_plan_step(tmp_path, tfvars: str | None, **overrides: str):
    """The terraform-plan step in a copy of its root, with a `terraform` that records its arguments:
    (exit code, stderr, the arguments terraform got or None)."""
    import os
    import shutil
    import subprocess

    values = {**{k: str(v) for k, v in BUILD["substitutions"].items()}, "PROJECT_ID": "my-project", **overrides}
    step = _step("terraform-plan")
    root = tmp_path / "root"
    root.mkdir()
    if tfvars is not None:
        (root / "terraform.tfvars").write_text(tfvars)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "terraform.args"
    (bin_dir / "terraform").write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    (bin_dir / "terraform").chmod(0o755)
    command = [_substituted(step.get("entrypoint", "terraform"), values)]
    command += [_substituted(arg, values) for arg in step["args"]]
    done = subprocess.run(command, cwd=root, env={"PATH": f"{bin_dir}:{os.path.dirname(shutil.which('sed'))}:/bin"},
                          capture_output=True, text=True, timeout=30, check=False)
    args = record.read_text().splitlines() if record.exists() else None
    return done.returncode, done.stderr, args


ROOT_TFVARS = 'project_id = "my-project"\nregion     = "europe-west1"\noncall_email = "a@example.com"\n'

# (substitutions, the root's terraform.tfvars, the region Terraform is given: None = the root's own,
# "refused" = the step stops before planning)
PLAN_ROWS = [
    ({}, ROOT_TFVARS, None),                                            # a trigger that names no region
    ({"_REGION": "europe-west1"}, ROOT_TFVARS, "europe-west1"),         # the same region, named twice
    ({"_REGION": "us-central1"}, ROOT_TFVARS, "refused"),               # another region than the root's
    ({"_REGION": "us-central1"}, 'project_id = "my-project"\n', "us-central1"),  # the root names none
    ({"PROJECT_ID": "ci-project"}, ROOT_TFVARS, "refused"),             # built in another project
    ({}, 'project_id = "my-project"  # the project\nregion="europe-west1"\n', None),
    ({"_REGION": "europe-west1"}, None, "europe-west1"),                # no terraform.tfvars at all
]


@pytest.mark.parametrize("overrides, tfvars, region", PLAN_ROWS)
def test_the_plan_deploys_where_the_root_says(tmp_path, overrides, tfvars, region) -> None:
    """A -var overrides terraform.tfvars silently (Terraform, "Variable Definition Precedence"): a
    default _REGION moved a root that names its region there, and a build in another project than the
    root's deployed there. The step passes only what agrees with the root, or stops saying why."""
    code, stderr, args = _run_plan_step(tmp_path, tfvars, **overrides)
    if region == "refused":
        assert code != 0 and args is None, (code, args)
        assert "terraform.tfvars names" in stderr and "nothing was planned" in stderr, stderr
        return
    assert code == 0, stderr
    assert args is not None and args[0] == "plan" and "-input=false" in args, args
    project = overrides.get("PROJECT_ID", "my-project")
    assert f"-var=project_id={project}" in args, args
    regions = [a for a in args if a.startswith("-var=region=")]
    assert regions == ([] if region is None else [f"-var=region={region}"]), args


def test_no_region_is_assumed() -> None:
    assert BUILD["substitutions"]["_REGION"] == "", "a default region overrides the root's own on every trigger that leaves it out"


def _seconds(duration: str) -> int:
    match = re.fullmatch(r"(\d+)s", str(duration))
    assert match, f"{duration!r}: Cloud Build takes a duration in seconds, such as 600s"
    return int(match.group(1))


# The google provider's longest create timeout among what the first apply makes: a function's 60 minutes
# (registry.terraform.io/providers/hashicorp/google/latest/docs/resources/cloudfunctions2_function, Timeouts).
PROVIDER_LONGEST_CREATE = 60 * 60


def test_no_step_is_cut_off_by_the_builds_timeout() -> None:
    # A step with no timeout of its own "is allowed to continue to run until either it completes or the build
    # itself times out" (Cloud Build, build config file schema, Build steps: timeout): with one hour for the whole
    # build, tests first, a slow test run left the apply minutes and cut it in the middle, its resources half made
    # and the state locked in the bucket. Every step is bounded, the build above their sum.
    steps = {step["id"]: _seconds(step["timeout"]) for step in BUILD["steps"] if "timeout" in step}
    assert set(steps) == {step["id"] for step in BUILD["steps"]}, "a step without a timeout of its own"
    assert _seconds(BUILD["timeout"]) >= sum(steps.values()), (BUILD["timeout"], steps)
    # The provider gives up on a create before the step is killed, releasing the state lock.
    assert steps["terraform-apply"] > PROVIDER_LONGEST_CREATE, steps
