"""Benchmark: straightforward Algorithm 1 against our matrix completion and Delaunay.

Builds a realistic sparse velocity map (Mogi deformation + exponential-covariance
atmosphere + spike noise, sampled unevenly like persistent scatterers), then
times each method and reports its RMSE (mm/yr) against the noise-free truth.

    .venv/bin/python bench/interpolation.py --size 2500 --fraction 0.1

The straightforward version runs a full SVD per iteration and takes tens of
minutes at 2500 x 2500 on two cores; ``--skip-reference`` leaves it out.
``--products numpy|torch`` swaps the solver's matrix products for NumPy's ``@``
or PyTorch's, to compare with the plugin's (SciPy's Fortran BLAS).

``--raster-size N`` instead streams an N x N GeoTIFF scene through
``interpolate_raster`` (2500 px tiles, blended halos), as the Processing
algorithm does, and extrapolates its throughput to the paper's UK map.
With ``--qgis-process`` the same raster then also goes through
``qgis_process.bin run insardefo:interpolate``, the path of QGIS users, whose
time (start-up excluded: see bench/in_qgis.py) is printed beside the core call's;
with ``--qgis-desktop`` the same core call also runs in the QGIS desktop's own
Python (``qgis.bin --code``, under ``xvfb-run`` without a display).

    .venv/bin/python bench/interpolation.py --raster-size 1500 --qgis-process --qgis-desktop

``--plugin-path DIR`` runs the copy of the plugin in DIR/insar_deformation_detector
(for example a worktree of an older commit) in every one of these.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np


def _plugin_path():
    """build/pluginpath, or the folder given with --plugin-path (read before the plugin is imported)."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--plugin-path",
                       default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                            "build", "pluginpath"))
    return os.path.abspath(early.parse_known_args()[0].plugin_path)


PLUGIN_PATH = _plugin_path()
sys.path.insert(0, PLUGIN_PATH)

from insar_deformation_detector.core.interpolation import matrix_completion  # noqa: E402
from insar_deformation_detector.core.interpolation.delaunay import delaunay_interpolate  # noqa: E402
from insar_deformation_detector.core.interpolation.matrix_completion import complete_fast, complete_reference  # noqa: E402
from insar_deformation_detector.core.interpolation.raster_interpolation import interpolate_raster  # noqa: E402
from insar_deformation_detector.core.synthesis.synthetic_scene import make_sparse_scene, rmse, write_scene  # noqa: E402

from machine import machine  # noqa: E402

UK_PIXELS = 98_504 * 68_504  # section IV-C: the whole-UK velocity map at 10 m
DESKTOP_SCRIPT = """
import json, os, sys, time
sys.path.insert(0, {plugin_path!r})
from insar_deformation_detector.core.interpolation.raster_interpolation import interpolate_raster
started = time.perf_counter()
interpolate_raster({sparse!r}, {output!r}, tile_size=2500)
with open({result!r}, "w") as handle:
    json.dump(time.perf_counter() - started, handle)
os._exit(0)
"""


def delaunay(sparse):
    rows, cols = np.nonzero(np.isfinite(sparse))
    return delaunay_interpolate(rows, cols, sparse[rows, cols], sparse.shape)


def numpy_products(a, b):
    return a @ b


def torch_products(a, b):
    import torch

    return (torch.from_numpy(np.ascontiguousarray(a)) @ torch.from_numpy(np.ascontiguousarray(b))).numpy()


PRODUCTS = {"scipy": None, "numpy": numpy_products, "torch": torch_products}  # None: the plugin's own


def compare_methods(args):
    """Time and RMSE of each method on one in-memory tile."""
    if PRODUCTS[args.products] is not None:
        matrix_completion.matmul = PRODUCTS[args.products]
    scene = make_sparse_scene(args.size, args.size, measured_fraction=args.fraction, seed=args.seed)
    methods = {"delaunay": delaunay, "matrix completion (ours)": complete_fast}
    if not args.skip_reference:
        methods["matrix completion (straightforward)"] = complete_reference
    print(f"# {args.size} x {args.size} px, {np.isfinite(scene.sparse).mean():.1%} measured, "
          f"{args.products} matrix products; {machine()}")
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
    return {"size": args.size, "fraction": args.fraction, "products": args.products, "results": results}


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
        in_qgis = _through_qgis_process(paths["sparse"], folder) if args.qgis_process else None
        desktop = _in_qgis_desktop(paths["sparse"], folder) if args.qgis_desktop else None
    megapixels = args.raster_size ** 2 / 1e6
    hours = UK_PIXELS / 1e6 / (megapixels / seconds) / 3600
    print(f"# {args.raster_size} x {args.raster_size} px GeoTIFF, {summary['tiles']} tiles; {machine()}")
    print(f"interpolate_raster: {seconds:.1f} s, {megapixels / seconds:.3f} Mpx/s, RMSE {error:.4f} mm/yr; "
          f"whole UK map (98,504 x 68,504 px) at this rate: {hours:.1f} h")
    results = {"raster_size": args.raster_size, "seconds": seconds, "tiles": summary["tiles"],
               "rmse_mm_per_yr": error, "uk_hours": hours}
    if in_qgis:
        work, start_up = in_qgis
        print(f"qgis_process.bin run insardefo:interpolate: {work:.1f} s (start-up of {start_up:.1f} s excluded), "
              f"{work / seconds:.2f}x the core call")
        results.update(qgis_process_seconds=work, qgis_process_start_up_seconds=start_up,
                       qgis_process_ratio=work / seconds)
    if desktop:
        print(f"the same call in the QGIS desktop's Python: {desktop:.1f} s, {desktop / seconds:.2f}x the core call")
        results.update(qgis_desktop_seconds=desktop, qgis_desktop_ratio=desktop / seconds)
    return results


def _through_qgis_process(sparse_path, folder):
    """(work, start-up) seconds of insardefo:interpolate on ``sparse_path`` through qgis_process.bin."""
    from in_qgis import TINY, qgis_process_runner, qgis_process_seconds

    tiny = write_scene(make_sparse_scene(TINY, TINY, seed=1), os.path.join(folder, "tiny"), with_points=False)
    with qgis_process_runner.QgisProcess(plugin_path=PLUGIN_PATH) as runner:
        return qgis_process_seconds(runner, "insardefo:interpolate",
                                    {"INPUT": sparse_path, "OUTPUT": os.path.join(folder, "qgis_process.tif")},
                                    {"INPUT": tiny["sparse"], "OUTPUT": os.path.join(folder, "tiny.tif")})


def _in_qgis_desktop(sparse_path, folder):
    """Seconds of the same interpolate_raster call in the QGIS desktop's Python (a throw-away profile)."""
    result = os.path.join(folder, "desktop.json")
    script = os.path.join(folder, "desktop.py")
    with open(script, "w") as handle:
        handle.write(DESKTOP_SCRIPT.format(plugin_path=PLUGIN_PATH, sparse=sparse_path,
                                           output=os.path.join(folder, "desktop.tif"), result=result))
    command = ["qgis.bin", "--nologo", "--noversioncheck", "--profiles-path", os.path.join(folder, "profiles"),
               "--code", script]
    if not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
        command = ["xvfb-run", "-a", *command]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=3600, cwd=folder)
    if not os.path.exists(result):
        raise RuntimeError(f"the QGIS desktop run failed (exit {completed.returncode}):\n{completed.stderr}")
    with open(result) as handle:
        return json.load(handle)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2500, help="tile side in pixels")
    parser.add_argument("--fraction", type=float, default=0.10, help="share of pixels measured")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-reference", action="store_true", help="leave out the full-SVD version")
    parser.add_argument("--products", choices=sorted(PRODUCTS), default="scipy",
                        help="with --size: the solver's matrix products: scipy (the plugin's: SciPy's Fortran "
                             "BLAS), numpy (a @ b, as before issue 14) or torch (for comparison)")
    parser.add_argument("--raster-size", type=int, help="stream an N x N GeoTIFF through the tiled path")
    parser.add_argument("--qgis-process", action="store_true",
                        help="with --raster-size: also run the raster through qgis_process.bin")
    parser.add_argument("--qgis-desktop", action="store_true",
                        help="with --raster-size: also run the core call in the QGIS desktop's Python")
    parser.add_argument("--plugin-path", help="folder holding the insar_deformation_detector plugin to run "
                                              "(default build/pluginpath, this checkout)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    if args.products != "scipy" and (args.raster_size or not hasattr(matrix_completion, "matmul")):
        parser.error("--products applies to --size runs of a solver that has matmul (this checkout's)")

    results = stream_raster(args) if args.raster_size else compare_methods(args)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": machine(), **results}, handle, indent=2)


if __name__ == "__main__":
    main()
