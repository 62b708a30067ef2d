from tests.integration.conftest import anchor, seed_scenario, standin_env, standins, vpc_standin  # noqa: F401 - shared fixtures
