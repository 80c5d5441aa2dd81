#!/usr/bin/env python3
"""Orchestration overhead per test from a run of experiments/bench-overhead.toml.

Overhead of a test = its wall time minus the client's own run phase: everything the host
does around the IUTs (planning, directories, starting, readiness, stopping, evidence,
judging, writing reports). Prints the median, p90, min and max in milliseconds.
Usage: overhead.py OUTPUT_DIR   (the --output-dir given to `panther-host run`)
"""
import glob
import json
import statistics
import sys

runs = sorted(glob.glob(f"{sys.argv[1]}/bench-overhead/*/experiment_summary.json"))
if not runs:
    sys.exit(f"no run of bench-overhead under {sys.argv[1]}")
summary = json.load(open(runs[-1]))
overheads = []
for test in summary["tests"]["results"]:
    if test["status"] != "passed":
        sys.exit(f"test {test['name']} did not pass: {test.get('error_message')}")
    client = next(s for s in test["services"] if s["name"] == "client")
    run = next(p for p in client["phases"] if p["phase"] == "run")["duration_seconds"]
    overheads.append((test["duration"] - run) * 1000)
overheads.sort()
p90 = overheads[int(len(overheads) * 0.9) - 1]
print(f"orchestration overhead per test over {len(overheads)} tests: median {statistics.median(overheads):.1f} ms, "
      f"p90 {p90:.1f} ms, min {overheads[0]:.1f} ms, max {overheads[-1]:.1f} ms (target: median <= 50 ms)")
