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
