"""Cloud Functions looks for entry points here. Each lives in functions/."""
from functions.alerts import on_alert

__all__ = ["on_alert"]
