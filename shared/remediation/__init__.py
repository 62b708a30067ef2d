"""From a verdict to a bounded change: planning, the gate, the actions and the verification sweep."""
