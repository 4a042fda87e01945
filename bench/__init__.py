"""Benchmarks for Liaison, each measured against a baseline run in the same invocation.

`python -m bench [--quick] [--only latency,intake,routing,pick]` — see README "Benchmarks".
"""
