"""Read-only live mode: diagnose a real project and say what Runwarden would do, writing nothing.

Built from readers alone (no gate, no state store, no publisher, no adapter with a write
method): the write side is absent, not switched off.
"""
