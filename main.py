"""Cloud Functions looks for entry points here. Each lives in functions/."""
from functions.alerts import on_alert
from functions.commands import on_command
from functions.timeline import incident_timeline

__all__ = ["on_alert", "on_command", "incident_timeline"]
