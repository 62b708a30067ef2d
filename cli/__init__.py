"""The `runwarden` operator CLI: parse, replay, diagnose, demo. Never deployed."""
