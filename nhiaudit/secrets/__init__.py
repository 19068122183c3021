"""Secret sprawl: credential-shaped values in repositories and cloud configuration, kept as sightings (where,
which key id or hash prefix; never the value) and joined to the inventory by analysis (docs/secrets.md)."""
