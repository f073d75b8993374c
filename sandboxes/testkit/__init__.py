"""What the tests, the hostile probe and the benchmarks share: builders, the broker pipeline, editsync run."""
