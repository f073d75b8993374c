"""Benchmarks of editsync: the pure core, the Avro codec, and the service end to end on the real broker.

Run with ``make bench`` (``python -m benchmarks --help``). Not collected by pytest: figures, not verdicts.
"""
