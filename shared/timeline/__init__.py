"""The incident timeline: the writer of structured step lines (and, next, the builder and renderers)."""
