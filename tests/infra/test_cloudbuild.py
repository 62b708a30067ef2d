"""cloudbuild.yaml: tests before any deploy step, pinned images, declared substitutions."""
from __future__ import annotations

import re

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
    assert "CI=true and terraform (1.5 or later) is not on the PATH" in done.stderr, done.stderr
