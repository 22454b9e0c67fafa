"""Service functions of the connectors app."""
