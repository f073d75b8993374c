"""Wiring of one editsync worker: settings, the Faust app, shared context, downstream systems, metrics, CLI."""
