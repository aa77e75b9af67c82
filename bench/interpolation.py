"""Benchmark: straightforward Algorithm 1 against our matrix completion and Delaunay.

Builds a realistic sparse velocity map (Mogi deformation + exponential-covariance
atmosphere + spike noise, sampled unevenly like persistent scatterers), then
times each method and reports its RMSE (mm/yr) against the noise-free truth.

    .venv/bin/python bench/interpolation.py --size 2500 --fraction 0.1

The straightforward version runs a full SVD per iteration and takes tens of
minutes at 2500 x 2500 on two cores; ``--skip-reference`` leaves it out.

``--raster-size N`` instead streams an N x N GeoTIFF scene through
``interpolate_raster`` (2500 px tiles, blended halos), as the Processing
algorithm does, and extrapolates its throughput to the paper's UK map.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "pluginpath"))

from insar_deformation_detector.core.delaunay import delaunay_interpolate  # noqa: E402
from insar_deformation_detector.core.interpolation import interpolate_raster  # noqa: E402
from insar_deformation_detector.core.matrix_completion import complete_fast, complete_reference  # noqa: E402
from insar_deformation_detector.core.synthetic_scene import make_sparse_scene, rmse, write_scene  # noqa: E402
from machine import machine  # noqa: E402

UK_PIXELS = 98_504 * 68_504  # section IV-C: the whole-UK velocity map at 10 m


def delaunay(sparse):
    rows, cols = np.nonzero(np.isfinite(sparse))
    return delaunay_interpolate(rows, cols, sparse[rows, cols], sparse.shape)


def compare_methods(args):
    """Time and RMSE of each method on one in-memory tile."""
    scene = make_sparse_scene(args.size, args.size, measured_fraction=args.fraction, seed=args.seed)
    methods = {"delaunay": delaunay, "matrix completion (ours)": complete_fast}
    if not args.skip_reference:
        methods["matrix completion (straightforward)"] = complete_reference
    print(f"# {args.size} x {args.size} px, {np.isfinite(scene.sparse).mean():.1%} measured; {machine()}")
    results = {}
    for name, method in methods.items():
        started = time.perf_counter()
        dense = method(scene.sparse)
        seconds = time.perf_counter() - started
        error = float(np.sqrt(np.mean((dense - scene.truth) ** 2)))
        results[name] = {"seconds": seconds, "rmse_mm_per_yr": error}
        print(f"{name:38s} {seconds:9.1f} s   RMSE {error:.4f} mm/yr", flush=True)
    if "matrix completion (straightforward)" in results:
        speedup = (results["matrix completion (straightforward)"]["seconds"]
                   / results["matrix completion (ours)"]["seconds"])
        print(f"speed-up of ours over straightforward: {speedup:.1f}x")
    return {"size": args.size, "fraction": args.fraction, "results": results}


def stream_raster(args):
    """Throughput of the tiled GeoTIFF path on an N x N scene."""
    scene = make_sparse_scene(args.raster_size, args.raster_size, measured_fraction=args.fraction,
                              seed=args.seed)
    with tempfile.TemporaryDirectory() as folder:
        paths = write_scene(scene, folder, with_points=False)
        output = os.path.join(folder, "dense.tif")
        started = time.perf_counter()
        summary = interpolate_raster(paths["sparse"], output, tile_size=2500)
        seconds = time.perf_counter() - started
        error = rmse(output, paths["truth"])
    megapixels = args.raster_size ** 2 / 1e6
    hours = UK_PIXELS / 1e6 / (megapixels / seconds) / 3600
    print(f"# {args.raster_size} x {args.raster_size} px GeoTIFF, {summary['tiles']} tiles; {machine()}")
    print(f"interpolate_raster: {seconds:.1f} s, {megapixels / seconds:.3f} Mpx/s, RMSE {error:.4f} mm/yr; "
          f"whole UK map (98,504 x 68,504 px) at this rate: {hours:.1f} h")
    return {"raster_size": args.raster_size, "seconds": seconds, "tiles": summary["tiles"],
            "rmse_mm_per_yr": error, "uk_hours": hours}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2500, help="tile side in pixels")
    parser.add_argument("--fraction", type=float, default=0.10, help="share of pixels measured")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-reference", action="store_true", help="leave out the full-SVD version")
    parser.add_argument("--raster-size", type=int, help="stream an N x N GeoTIFF through the tiled path")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()

    results = stream_raster(args) if args.raster_size else compare_methods(args)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": machine(), **results}, handle, indent=2)


if __name__ == "__main__":
    main()
