"""The province-scale benchmark: `python -m bench.generate` loads the data set, `python -m bench.run` (make bench)
measures the portal against it. Not part of the tests."""
