# Not run by the tests: a measurement that takes minutes; its output is the benchmark page.
scripts/benchmark
