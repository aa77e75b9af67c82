"""Build the dense detector from synthetic training maps, resumably (make dense-model).

1. Training maps (core.synthesis.training_maps) are generated into --maps-folder unless a set of
   the same count and seed is there already (800 maps: 28 minutes on 2 cores).
2. The U-Net trains from --checkpoint if it exists (so a run stopped by --minutes, Ctrl+C or the
   end of a session continues), else from scratch, with fixed seeds.
3. The best weights by validation pixel F1 are written to --output as a model file.

    .venv/bin/python scripts/build_dense_model.py --maps 800 --steps 7000 --batch-size 12 --minutes 65
"""
import argparse
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import qgis_process_runner  # noqa: E402

sys.path.insert(0, qgis_process_runner.ensure_plugin_path())

from insar_deformation_detector.core.learning.dense_training import DenseTrainer, DenseTrainingConfig  # noqa: E402
from insar_deformation_detector.core.learning.model_file import plugin_version, save_model  # noqa: E402
from insar_deformation_detector.core.synthesis.dataset import Dataset  # noqa: E402
from insar_deformation_detector.core.synthesis.training_maps import MODEL_PIXEL_M, generate_training_maps  # noqa: E402

DATA = os.path.join(ROOT, "bench", "data", "dense-model")


def ensure_maps(folder, count, seed):
    """The training-map dataset in ``folder``, generated unless one of ``count`` maps from ``seed`` is there."""
    manifest = os.path.join(folder, "manifest.json")
    if os.path.isfile(manifest):
        with open(manifest, encoding="utf-8") as handle:
            recorded = json.load(handle)
        if recorded.get("count") == count and recorded.get("seed") == seed:
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
    parser.add_argument("--architecture", default="unet_small")
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop", type=int, default=128, help="crop side, pixels at the model's pixel size")
    parser.add_argument("--minutes", type=float, default=0.0, help="stop after this much training (0: none)")
    parser.add_argument("--checkpoint", default=os.path.join(DATA, "checkpoint.pt"))
    parser.add_argument("--output", default=os.path.join(DATA, "dense.pt"))
    arguments = parser.parse_args()

    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    dataset = ensure_maps(arguments.maps_folder, arguments.maps, arguments.seed)
    velocity = np.stack([dataset.patch(index) for index in range(len(dataset))])
    labels = np.stack([dataset.label_map(index) for index in range(len(dataset))])
    config = DenseTrainingConfig(architecture=arguments.architecture, steps=arguments.steps,
                                 batch_size=arguments.batch_size, crop_px=arguments.crop, seed=arguments.seed,
                                 time_limit_minutes=arguments.minutes)
    os.makedirs(os.path.dirname(os.path.abspath(arguments.checkpoint)), exist_ok=True)
    trainer = DenseTrainer(velocity, labels, dataset.classes, config, arguments.checkpoint,
                           log=lambda message: print(message, flush=True))
    history = trainer.run()
    trainer.network.load_state_dict(trainer.best_weights)
    save_model(arguments.output, trainer.network, {
        "family": "dense", "architecture": arguments.architecture, "classes": dataset.classes,
        "pixel_size_m": MODEL_PIXEL_M, "input_channels": ["velocity_mm_yr_over_10", "coverage"],
        "training": {"maps": len(dataset), "seed": arguments.seed, "steps": trainer.step,
                     "batch_size": arguments.batch_size, "crop_px": arguments.crop},
        "validation": {"pixel_f1": trainer.best, "history": history},
        "plugin_version": plugin_version()})
    print(f"{arguments.output}: step {trainer.step}, best validation pixel F1 {trainer.best:.1f} %")


if __name__ == "__main__":
    main()
