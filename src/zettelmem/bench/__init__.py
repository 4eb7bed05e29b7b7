"""Benchmarks run from `mem bench`: LoCoMo recall and memory poisoning."""
