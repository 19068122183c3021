"""The written policy: model, loader (with line numbers), JSON Schema and starter template."""
