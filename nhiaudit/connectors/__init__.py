"""Connectors: the only code that talks to a cloud (read-only) or reads provider export files."""
