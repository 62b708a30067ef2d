"""The `runwarden` operator CLI: parse, diagnose, replay, eval, timeline, check-config, and the
operator commands (command, status, approve, pause, resume). Never deployed; the demo is `make demo`."""
