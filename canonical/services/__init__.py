"""Service functions: every write to the canonical store goes through one of these."""
