"""main.py with a bug planted, for tests/e2e/test_delivery_bounds.py: planning raises an exception no handler
expects, on every delivery. The product's own code is changed here, in the function's process only; no Google
client is touched. (A damaged state record served as the bug before; it is now answered `escalated`, naming it.)"""
import shared.pipeline

from main import incident_timeline, on_alert, on_command  # noqa: F401  the entry points, as main.py serves them


def _planted_bug(*_args: object, **_kwargs: object) -> None:
    raise ZeroDivisionError("a bug planted by tests/e2e/planted_bug_main.py")


shared.pipeline.plan = _planted_bug
