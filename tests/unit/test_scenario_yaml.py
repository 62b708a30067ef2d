"""A scenario file is read as strictly as the config: a key given twice is refused, not dropped."""
from pathlib import Path

import pytest

from sandbox.scenarios import ScenarioError, load_scenario

BUNDLED = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios"


def test_a_key_given_twice_in_a_scenario_is_refused_with_its_line(tmp_path):
    text = (BUNDLED / "healthy.yaml").read_text()
    assert "\nexpect:\n" in text
    twice = text.replace("\nexpect:\n", "\nexpect:\n  notes: first\n  notes: second\n", 1)
    path = tmp_path / "twice.yaml"
    path.write_text(twice)
    with pytest.raises(ScenarioError, match="'notes' is given twice"):
        load_scenario(path)


@pytest.mark.parametrize("path", sorted(BUNDLED.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_scenario_gives_each_key_once(path):
    load_scenario(path)


def test_an_applied_rollback_expectation_without_its_revision_is_refused(tmp_path):
    # Without to_revision the pipeline's end-to-end check compares the split to {None: 100} and fails on the
    # emulators only; three scenarios reached main that way.
    text = (BUNDLED / "partner_read_timeouts_new_code_only_after_deploy.yaml").read_text()
    assert "\n  to_revision: orders-00032-zed\n" in text
    path = tmp_path / "no_revision.yaml"
    path.write_text(text.replace("\n  to_revision: orders-00032-zed\n", "\n", 1))
    with pytest.raises(ScenarioError, match="needs to_revision"):
        load_scenario(path)
