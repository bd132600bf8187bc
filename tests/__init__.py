"""The test suite; `tests.support` holds the fake Graph tenant and tools the benchmarks and CI use too."""
