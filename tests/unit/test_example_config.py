from pathlib import Path

from shared.config import load_config


def test_the_example_config_is_valid():
    config = load_config(Path(__file__).resolve().parents[2] / "runwarden.example.yaml")
    assert config.dry_run
