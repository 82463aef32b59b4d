"""The ``twinreg`` command line (``main``), with the demo and the benchmarks it runs.
Nothing in the HTTP surface or the composition imports this package."""
