"""Faust agents: thin loops that decode, call the pure core, encode and send."""
