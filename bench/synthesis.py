"""Benchmark: synthetic training examples per second for each interpolation method.

Generates a three-class dataset (no deformation, point source, tunnel) of
224 x 224 patches at 10 m with ``generate_dataset``, exactly as
insardefo:synthesize does, on every core, and extrapolates the rate to the
issue's target of 20,000 examples with matrix completion in under an hour.

    .venv/bin/python bench/synthesis.py --per-class 200

``--per-class`` sets the examples per class for each method (the first
shard's worth of time includes starting the worker processes, so use a few
hundred to measure the steady rate); ``--methods`` picks the methods.
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "pluginpath"))

from insar_deformation_detector.core.common.workers import worker_count
from insar_deformation_detector.core.synthesis.training_examples import (
    INTERPOLATIONS,
    SynthesisConfig,
    generate_dataset,
)

TARGET_EXAMPLES = 20_000  # the issue: a 20,000-example matrix-completion dataset in under an hour


def measure(method, per_class, workers, folder):
    config = SynthesisConfig(kind="both", count_per_class=per_class, interpolation=method, seed=1)
    started = time.time()
    summary = generate_dataset(config, os.path.join(folder, method), workers=workers)
    seconds = time.time() - started
    return {"method": method, "examples": summary["count"], "seconds": round(seconds, 1),
            "examples_per_second": round(summary["count"] / seconds, 2),
            "hours_for_20000": round(TARGET_EXAMPLES / (summary["count"] / seconds) / 3600, 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-class", type=int, default=200)
    parser.add_argument("--methods", nargs="+", default=list(INTERPOLATIONS), choices=INTERPOLATIONS)
    parser.add_argument("--workers", type=int, default=0, help="0: every core")
    parser.add_argument("--json", help="also write the results to this file")
    arguments = parser.parse_args()
    workers = worker_count(arguments.workers)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {workers} workers, "
          f"224 x 224 px at 10 m, three classes, {arguments.per_class} examples per class")
    results = []
    with tempfile.TemporaryDirectory(prefix="insardefo-bench-") as folder:
        for method in arguments.methods:
            result = measure(method, arguments.per_class, workers, folder)
            results.append(result)
            print(f"{method:18s} {result['examples']:6d} examples {result['seconds']:8.1f} s "
                  f"{result['examples_per_second']:7.2f} examples/s -> 20,000 in {result['hours_for_20000']:.2f} h")
    if arguments.json:
        with open(arguments.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
