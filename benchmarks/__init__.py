"""Benchmarks on the real data in $PROJNER_DATA (default ../shared/data). Run with `make bench`."""
