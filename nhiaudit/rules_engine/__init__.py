"""Rules as data (rules/*.yaml): model, loader, CEL evaluation against facts."""
