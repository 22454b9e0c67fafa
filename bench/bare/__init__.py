"""A one-table Django app whose POST endpoint is the baseline of the REST benchmarks."""
