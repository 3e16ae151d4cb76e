"""Benchmark harness for sqlripple: corpus generator (generate.py) and runner (run.py).

`python -m bench` generates the corpora on demand into bench/corpus/ (gitignored) and
measures every pipeline stage, the whole CLI and the comparison tools. See BENCHMARKS.md.
"""
