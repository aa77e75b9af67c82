"""Build the dense detector from synthetic training maps, resumably (make default-model).

1. Training maps (core.synthesis.training_maps) are generated into --maps-folder unless a set of
   the same count and seed is there already (800 maps: 22 minutes on 2 cores), and
   CALIBRATION_MAPS more from another seed into --calibration-folder.
2. The U-Net trains from --checkpoint if it exists (so a run stopped by --minutes, Ctrl+C or the
   end of a session continues), else from --init's weights (fine-tuning) or from scratch, with
   fixed seeds; --hard-pixel-share trains on the hardest pixels of each batch only.
3. The best weights by validation pixel F1 get a temperature, an area calibration and an area
   floor fitted on the calibration maps (core.learning.calibration,
   core.learning.area_confidence) and are written to --output as a model file.

    .venv/bin/python scripts/build_dense_model.py --maps 800 --steps 4000 --batch-size 12
"""
import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import qgis_process_runner  # noqa: E402

sys.path.insert(0, qgis_process_runner.ensure_plugin_path())

from insar_deformation_detector.core.learning.dense_model_training import train_dense_model  # noqa: E402
from insar_deformation_detector.core.learning.dense_training import DenseTrainingConfig  # noqa: E402
from insar_deformation_detector.core.synthesis.dataset import Dataset  # noqa: E402
from insar_deformation_detector.core.synthesis.training_maps import generate_training_maps  # noqa: E402

DATA = os.path.join(ROOT, "bench", "data", "dense-model")
CALIBRATION_MAPS = 400  # enough stable ground in each pixel-size bin of the area floor (core.learning.area_confidence)
CALIBRATION_SEED = 7_000_001  # never a training seed, never a benchmark seed (bench/scenes.py: 9000+)


def ensure_maps(folder, count, seed):
    """The training-map dataset in ``folder``, generated unless one of ``count`` maps from ``seed`` is there.

    A set made before training maps kept their measurements is made again.
    """
    manifest = os.path.join(folder, "manifest.json")
    if os.path.isfile(manifest):
        with open(manifest, encoding="utf-8") as handle:
            recorded = json.load(handle)
        if recorded.get("count") == count and recorded.get("seed") == seed and Dataset(folder).has_measurement_maps:
            return Dataset(folder)
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    summary = generate_training_maps(folder, count, seed,
                                     progress=lambda fraction, message: print(message, flush=True))
    print(f"{count} maps in {summary['seconds']:.0f} s on {summary['workers']} process(es)", flush=True)
    return Dataset(folder)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--maps", type=int, default=800, help="training maps to generate (default 800)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--maps-folder", default=os.path.join(DATA, "maps"))
    parser.add_argument("--calibration-folder", default=os.path.join(DATA, "calibration-maps"))
    parser.add_argument("--architecture", default="unet_small")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=12)
    parser.add_argument("--crop", type=int, default=128, help="crop side, pixels at the maps' pixel size")
    parser.add_argument("--minutes", type=float, default=0.0, help="stop after this much training (0: none)")
    parser.add_argument("--learning-rate", type=float, default=DenseTrainingConfig.learning_rate,
                        help="the peak of the cosine schedule")
    parser.add_argument("--hard-pixel-share", type=float, default=1.0,
                        help="train on this share of each batch's pixels, the hardest (1: all)")
    parser.add_argument("--init", help="a dense model file whose weights start the run (fine-tuning)")
    parser.add_argument("--checkpoint", default=os.path.join(DATA, "checkpoint.pt"))
    parser.add_argument("--output", default=os.path.join(DATA, "dense.pt"))
    arguments = parser.parse_args()

    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    maps = ensure_maps(arguments.maps_folder, arguments.maps, arguments.seed)
    calibration = ensure_maps(arguments.calibration_folder, CALIBRATION_MAPS, CALIBRATION_SEED)
    config = DenseTrainingConfig(architecture=arguments.architecture, steps=arguments.steps,
                                 batch_size=arguments.batch_size, crop_px=arguments.crop, seed=arguments.seed,
                                 time_limit_minutes=arguments.minutes, learning_rate=arguments.learning_rate,
                                 hard_pixel_share=arguments.hard_pixel_share)
    os.makedirs(os.path.dirname(os.path.abspath(arguments.checkpoint)), exist_ok=True)
    result = train_dense_model([maps], config, arguments.output, arguments.checkpoint, init_path=arguments.init,
                               calibration_datasets=[calibration], log=lambda message: print(message, flush=True))
    fitted, metrics = result["calibration"], result["metrics"]
    print(f"temperature {fitted['temperature']:.3f}: calibration NLL {fitted['nll_before']:.4f} -> "
          f"{fitted['nll_after']:.4f} on {fitted['maps']} maps (seed {CALIBRATION_SEED})")
    print(f"{arguments.output}: step {result['metadata']['training']['steps']}, best validation pixel F1 "
          f"{result['metadata']['validation']['pixel_f1']:.1f} %; per pixel at P >= 0.5: accuracy "
          f"{metrics['accuracy']:.2f} %, false positives {metrics['false_positive_rate']:.2f} %")
    areas = result["metadata"]["area_confidence"]
    print(f"area calibration on {areas['areas']} areas at {areas['level']:g}: " + ", ".join(
        f"peak {peak:.2f} -> {share:.2f}" for peak, share in zip(areas["max_probability"], areas["share_real"])))
    print(f"area floor {areas['min_peak']:.3f}: {areas['false_areas_per_1000_km2']:.2f} false areas per 1,000 km2 "
          f"of the calibration maps' {areas['stable_km2']:.0f} km2 of stable ground peak above it")


if __name__ == "__main__":
    main()
