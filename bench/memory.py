"""Benchmark: peak memory of each algorithm through qgis_process.bin at two raster sizes.

An algorithm whose memory is bounded (streamed in tiles or row blocks) peaks
at about the same resident size on a raster with 9 times the pixels; one
that loads whole rasters grows with them. Each run's peak resident set size
is the kernel's high-water mark (VmHWM in /proc/PID/status, QGIS and PyTorch
included), read every 0.1 s while it runs: ``wait4``'s ru_maxrss would
carry over this script's own size, which Linux keeps across fork and exec.

    .venv/bin/python bench/memory.py --sizes 1200 3600

Prints one JSON line per run and a Markdown table for bench/README.md.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from in_qgis import ROOT, cases, write_inputs  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import qgis_process_runner  # noqa: E402
from machine import machine  # noqa: E402

SKIPPED = ("syntheticscene", "synthesize")  # their memory follows WIDTH x HEIGHT or the patch size, not an input


def peak_run(runner, algorithm, parameters):
    """(peak resident MiB, wall seconds) of one qgis_process run; RuntimeError when it fails."""
    runner.enable_plugin()
    arguments = [runner.executable, "run", algorithm, "--"] + [f"{name}={value}" for name, value in parameters.items()]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(arguments, env=runner.environment(), stdout=log, stderr=subprocess.STDOUT)
        peak = 0
        while process.poll() is None:
            peak = max(peak, high_water_kib(process.pid))
            time.sleep(0.1)
        if process.returncode != 0:
            log.seek(0)
            raise RuntimeError(f"{algorithm} failed:\n{log.read().decode(errors='replace')[-2000:]}")
    return peak / 1024.0, time.perf_counter() - started


def high_water_kib(pid):
    """The process's peak resident set size so far (VmHWM), KiB; 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=(1200, 3600), help="sides of the two square rasters")
    arguments = parser.parse_args()
    sys.path.insert(0, qgis_process_runner.ensure_plugin_path())
    rows = {}
    with tempfile.TemporaryDirectory(prefix="insardefo-bench-") as folder, qgis_process_runner.QgisProcess() as runner:
        for size in arguments.sizes:
            paths = write_inputs(os.path.join(folder, str(size)), size)
            outputs = os.path.join(folder, f"out{size}")
            os.makedirs(outputs)
            for label, algorithm, parameters, _ in cases(paths, size, outputs):
                if any(name in algorithm for name in SKIPPED):
                    continue
                peak, seconds = peak_run(runner, algorithm, parameters)
                rows.setdefault(label, {})[size] = (peak, seconds)
                print(json.dumps({"case": label, "size": size, "peak_mib": round(peak), "seconds": round(seconds, 1)}),
                      flush=True)
    small, large = arguments.sizes
    print(f"\n{machine()}\n")
    print(f"| algorithm | peak at {small} x {small} | peak at {large} x {large} | growth |")
    print("|---|---|---|---|")
    for label, sizes in rows.items():
        print(f"| {label} | {sizes[small][0]:.0f} MiB ({sizes[small][1]:.0f} s) | "
              f"{sizes[large][0]:.0f} MiB ({sizes[large][1]:.0f} s) | x{sizes[large][0] / sizes[small][0]:.2f} |")


if __name__ == "__main__":
    main()
