"""Cloud Functions looks for entry points here. Each lives in functions/."""
from functions import push_body
from functions.alerts import on_alert
from functions.commands import on_command
from functions.timeline import incident_timeline

push_body.install()     # a push of attributes only reaches the handlers (functions/push_body.py)

__all__ = ["on_alert", "on_command", "incident_timeline"]
