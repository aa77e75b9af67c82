"""Rebuild the bundled default model in resources/models/ from scratch, with fixed seeds.

    .venv/bin/python scripts/build_default_model.py            # or: make window-model

1. Generates a three-class training set (no deformation, point source,
   tunnel) and a held-out test set with insardefo:synthesize's generator
   (matrix completion, 224 x 224 px at 10 m, both passes), kept in
   ``--data`` and reused when their settings match.
2. Trains ``--architecture`` (alexnet_unpadded, whose fast shared form is
   exact; ``make window-model`` first trains the padded compact AlexNet whose
   convolutions it starts from) on it as insardefo:train does and stores it
   in half precision.
3. With ``--context-scenes N`` (padded AlexNets), every training step also
   classifies windows of N interpolated synthetic scenes both alone and in
   the shared form and penalises their disagreement (core.learning.shared_training).
4. Scores it on the held-out set at the detector's settings and writes the
   model and ``metrics.json`` to ``resources/models/``.

On 2 CPU cores this takes a few hours; a GPU is used when PyTorch sees one.
"""
import argparse
import json
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "pluginpath"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import qgis_process_runner  # noqa: E402

qgis_process_runner.ensure_plugin_path()

from insar_deformation_detector.core.learning.evaluation import evaluate  # noqa: E402
from insar_deformation_detector.core.learning.examples import Examples, open_datasets  # noqa: E402
from insar_deformation_detector.core.learning.model_file import load_model  # noqa: E402
from insar_deformation_detector.core.learning.networks import ARCHITECTURES  # noqa: E402
from insar_deformation_detector.core.learning.shared_training import (  # noqa: E402
    CONSISTENCY_WEIGHT,
    SharedFormTrainer,
    ensure_context_scenes,
)
from insar_deformation_detector.core.learning.training import TrainingConfig, train  # noqa: E402
from insar_deformation_detector.core.learning.wrapping import DEFAULT_INTERVALS, DEFAULT_OFFSETS  # noqa: E402
from insar_deformation_detector.core.synthesis.deformation_sources import WIDE_POINT_SOURCES  # noqa: E402
from insar_deformation_detector.core.synthesis.training_examples import SynthesisConfig, ensure_dataset  # noqa: E402

MODEL_FOLDER = os.path.join(ROOT, "resources", "models")
MODEL_NAME = "default.pt"
TRAIN_SEED, TEST_SEED, TRAINING_SEED = 21, 22, 0
CONTEXT_SCENE_SEED = 300  # bench/detection.py scores on scenes 100-102, the demo runs scene 0


def _log(message):
    print(message, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-class", type=int, default=1200, help="training examples per class")
    parser.add_argument("--test-per-class", type=int, default=300, help="held-out examples per class")
    parser.add_argument("--architecture", default="alexnet_unpadded", choices=list(ARCHITECTURES))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=TrainingConfig.learning_rate, help="Adam's step size")
    parser.add_argument("--init", help="start from this model file (e.g. a checkpoint) instead of random weights")
    parser.add_argument("--minutes", type=float, default=0.0, help="stop after the epoch that passes this "
                                                                     "much training time (0: no limit)")
    parser.add_argument("--context-scenes", type=int, default=0,
                        help="train the shared form to agree with windows alone on this many scenes (0: no)")
    parser.add_argument("--consistency-weight", type=float, default=CONSISTENCY_WEIGHT,
                        help="weight of the shared-form disagreement beside the cross entropy")
    parser.add_argument("--data", default=os.path.join(ROOT, "bench", "data", "default-model"))
    parser.add_argument("--output", default=os.path.join(MODEL_FOLDER, MODEL_NAME))
    arguments = parser.parse_args()
    train_folder = ensure_dataset(SynthesisConfig(kind="both", count_per_class=arguments.per_class, seed=TRAIN_SEED,
                                                  sources=WIDE_POINT_SOURCES),
                                  os.path.join(arguments.data, "train"))
    test_folder = ensure_dataset(SynthesisConfig(kind="both", count_per_class=arguments.test_per_class,
                                                 seed=TEST_SEED, sources=WIDE_POINT_SOURCES),
                                 os.path.join(arguments.data, "test"))
    config = TrainingConfig(architecture=arguments.architecture, epochs=arguments.epochs, seed=TRAINING_SEED,
                            learning_rate=arguments.learning_rate,
                            half_precision=True, init_weights=arguments.init, time_limit_minutes=arguments.minutes)
    started = time.time()
    examples = Examples(open_datasets([train_folder]))
    if arguments.context_scenes:
        scenes = ensure_context_scenes(os.path.join(arguments.data, "scenes"), arguments.context_scenes,
                                       CONTEXT_SCENE_SEED, progress=_log)
        result = SharedFormTrainer(examples, config, arguments.output, scenes, log=_log,
                                   weight=arguments.consistency_weight).run()
    else:
        result = train(examples, config, arguments.output, log=_log)
    test = evaluate(load_model(arguments.output), Examples(open_datasets([test_folder])), DEFAULT_INTERVALS,
                    DEFAULT_OFFSETS)
    summary = {"model": os.path.basename(arguments.output), "held_out_test": test["metrics"],
               "held_out_confusion": test["confusion"], "classes": test["classes"],
               "validation": result["metrics"], "best_epoch": result["best_epoch"],
               "epochs_run": len(result["history"]), "training_hours": (time.time() - started) / 3600,
               "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
               "training_examples_per_class": arguments.per_class, "test_examples_per_class": arguments.test_per_class,
               "context_scenes": arguments.context_scenes, "consistency_weight": arguments.consistency_weight,
               "size_mb": os.path.getsize(arguments.output) / 1e6}
    with open(os.path.join(os.path.dirname(arguments.output), "metrics.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
