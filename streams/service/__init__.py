"""Wiring of one editsync worker: settings, the Faust app, shared context, downstream systems, metrics, CLI,
and what watches it (lag, progress, agent crashes, order health, API use)."""
