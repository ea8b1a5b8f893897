"""Benchmarks: the native engine against Magenta itself (`python -m bench`)."""
