#!/usr/bin/env python3
"""Warm start-up of panther-host commands: wall time and peak RSS per run, as `make bench` prints
them for docs/BENCHMARKS.md.

    python3 tests/bench/startup.py target/release/panther-host [ROUNDS]

Each command runs once to warm the caches (compiled components, describe index), then ROUNDS
times (default 20). Peak RSS is `/usr/bin/time`'s "Maximum resident set size" (%M): measured
from Python itself, a forked child's high-water mark would start at the interpreter's size.
Wall time is measured here around `/usr/bin/time` (%e has 10 ms resolution), so it includes
that small program's own start. Not a test: a loaded machine gives larger numbers, so say what
else was running next to them.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = [
    ["plugins", "list"],
    ["validate", "experiments/demo.toml"],
    # Rust plugins only (ivy, minip, localhost): the Python plugin is listed, never loaded.
    ["validate", "experiments/ivy-minip.toml"],
    ["validate", "--no-plugins", "experiments/demo.toml"],
]


def once(argv, rss_file):
    """(wall ms, peak RSS KiB, exit code) of one run, output discarded."""
    start = time.perf_counter()
    p = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", rss_file, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wall = (time.perf_counter() - start) * 1e3
    with open(rss_file) as f:
        # /usr/bin/time writes "Command exited with non-zero status N" first when it fails.
        rss = int(f.read().split()[-1])
    return wall, rss, p.returncode


def main():
    binary = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    print(f"load average {os.getloadavg()[0]:.2f}, {rounds} warm runs each")
    print(f"{'command':<48} {'median ms':>9} {'min ms':>7} {'max ms':>7} {'peak RSS MiB':>12} exit")
    with tempfile.NamedTemporaryFile(prefix="panther-bench-rss-", delete=False) as f:
        rss_file = f.name
    for args in COMMANDS:
        argv = [binary, *args]
        once(argv, rss_file)
        runs = [once(argv, rss_file) for _ in range(rounds)]
        walls = [r[0] for r in runs]
        rss = max(r[1] for r in runs) / 1024
        codes = sorted({r[2] for r in runs})
        name = " ".join(args)
        print(
            f"{name:<48} {statistics.median(walls):>9.1f} {min(walls):>7.1f} {max(walls):>7.1f} {rss:>12.1f} "
            f"{','.join(map(str, codes))}"
        )
    os.unlink(rss_file)


if __name__ == "__main__":
    main()
