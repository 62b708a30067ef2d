"""From evidence to a verdict: collection (the only reads), evidence, facts, rules and the diagnosis."""
