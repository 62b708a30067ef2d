"""Runwarden's own package: models, decisions, guardrails and the adapters to Google Cloud.

Nothing here imports the sandbox or the CLI, and no Google client library is imported
at module level: each adapter imports its library on first use, to keep cold starts short.
"""

# The version: read by the package metadata (pyproject.toml) and `runwarden --version`.
__version__ = "0.2.0"
