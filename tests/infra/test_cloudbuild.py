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
    assert ids[0] == "test"
    assert ids.index("terraform-plan") < ids.index("terraform-apply")
    assert BUILD["steps"][0].get("env") == ["CI=true"]


def test_images_are_pinned() -> None:
    for step in BUILD["steps"]:
        image = _image(step["name"])
        tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert re.search(r"\d+\.\d+", tag), f"{step['id']}: {image} is not pinned to a version"
    assert "emulators" in _image(BUILD["steps"][0]["name"])


def test_every_substitution_is_declared() -> None:
    text = (ROOT / "cloudbuild.yaml").read_text()
    used = set(re.findall(r"\$\{(\w+)\}", text)) - BUILT_IN
    assert used <= set(BUILD["substitutions"]), used - set(BUILD["substitutions"])
