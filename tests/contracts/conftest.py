from tests.integration.conftest import anchor, seed_scenario, standin_env, standins  # noqa: F401 - shared fixtures
