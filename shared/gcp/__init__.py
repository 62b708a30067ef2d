"""Adapters, one per Google API. Each imports its client library on first use."""
