"""Benchmark: the paper's Table I (section IV-A), sparse vs Delaunay vs matrix completion.

For each interpolation method, a two-class synthetic set (atmosphere only
vs point source + atmosphere) is generated with insardefo:synthesize's
generator, a classifier is trained on it exactly as insardefo:train does,
and the model is scored on a held-out set of the same kind (other seed) at
the detector's settings (every look; deformation when P_final >= 0.5).

    .venv/bin/python bench/table1.py --per-class 2000 --test-per-class 500
    .venv/bin/python bench/table1.py --methods matrix_completion --score resources/models/dense.pt

``--score MODEL`` trains nothing: it scores a model file of either family on the held-out sets
(a dense model per window: deformation when detection would draw an area inside at 0.5).

Datasets are kept in ``--data`` (reused when their settings match), models
beside them. Prints the table in Markdown and the seconds per epoch.
"""
import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "pluginpath"))

from insar_deformation_detector.core.learning.dense_evaluation import evaluate_dense
from insar_deformation_detector.core.learning.evaluation import evaluate
from insar_deformation_detector.core.learning.examples import Examples, open_datasets
from insar_deformation_detector.core.learning.model_file import load_model
from insar_deformation_detector.core.learning.networks import ARCHITECTURES
from insar_deformation_detector.core.learning.training import TrainingConfig, train
from insar_deformation_detector.core.learning.wrapping import DEFAULT_INTERVALS, DEFAULT_OFFSETS
from insar_deformation_detector.core.synthesis.deformation_sources import WIDE_POINT_SOURCES
from insar_deformation_detector.core.synthesis.training_examples import SynthesisConfig, ensure_dataset

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = {"none": "Sparse", "delaunay": "Interp. DT", "matrix_completion": "Interp. MC"}
PAPER = {"none": (54.32, 63.91, 53.62, 55.27), "delaunay": (89.06, 99.10, 82.52, 20.98),
         "matrix_completion": (98.58, 99.27, 97.93, 2.09)}  # Table I, %
TRAIN_SEED, TEST_SEED = 11, 12


def datasets(method, arguments):
    """(training folder, test folder) for ``method``, generated unless already there."""
    train_folder = ensure_dataset(SynthesisConfig(kind="point", count_per_class=arguments.per_class,
                                                  interpolation=method, seed=TRAIN_SEED,
                                                  sources=WIDE_POINT_SOURCES),
                                  os.path.join(arguments.data, f"{method}-train"))
    test_folder = ensure_dataset(SynthesisConfig(kind="point", count_per_class=arguments.test_per_class,
                                                 interpolation=method, seed=TEST_SEED,
                                                 sources=WIDE_POINT_SOURCES),
                                 os.path.join(arguments.data, f"{method}-test"))
    return train_folder, test_folder


def score(method, arguments):
    """Table I of the model file ``arguments.score`` on ``method``'s held-out set, without training."""
    test_folder = ensure_dataset(SynthesisConfig(kind="point", count_per_class=arguments.test_per_class,
                                                 interpolation=method, seed=TEST_SEED,
                                                 sources=WIDE_POINT_SOURCES),
                                 os.path.join(arguments.data, f"{method}-test"))
    model = load_model(arguments.score)
    started = time.time()
    if model.family == "dense":
        test = evaluate_dense(model, open_datasets([test_folder]))
    else:
        test = evaluate(model, Examples(open_datasets([test_folder])), DEFAULT_INTERVALS, DEFAULT_OFFSETS)
    return {"method": method, "test": test["metrics"], "confusion": test["confusion"], "epochs_run": 0,
            "best_epoch": 0, "seconds_per_epoch": 0.0, "scoring_seconds": time.time() - started}


def run(method, arguments):
    train_folder, test_folder = datasets(method, arguments)
    model_path = os.path.join(arguments.data, f"{method}-{arguments.architecture}.pt")
    config = TrainingConfig(architecture=arguments.architecture, epochs=arguments.epochs,
                            batch_size=arguments.batch_size, learning_rate=arguments.learning_rate,
                            patience=arguments.patience, seed=arguments.seed,
                            time_limit_minutes=arguments.minutes)
    started = time.time()
    result = train(Examples(open_datasets([train_folder])), config, model_path,
                   log=lambda message: print(f"  {method}: {message}", flush=True))
    seconds = time.time() - started
    test = evaluate(load_model(model_path), Examples(open_datasets([test_folder])), DEFAULT_INTERVALS,
                    DEFAULT_OFFSETS)
    epochs = result["history"]
    return {"method": method, "test": test["metrics"], "confusion": test["confusion"],
            "validation": result["metrics"], "epochs_run": len(epochs), "best_epoch": result["best_epoch"],
            "seconds_per_epoch": sum(row["seconds"] for row in epochs) / len(epochs),
            "training_seconds": seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-class", type=int, default=1500, help="training examples per class")
    parser.add_argument("--test-per-class", type=int, default=400, help="held-out examples per class")
    parser.add_argument("--architecture", default="alexnet", choices=list(ARCHITECTURES))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=0.0, help="training time limit per method (0: none)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--data", default=os.path.join(HERE, "data", "table1"))
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--score", help="score this model file instead of training one per method")
    arguments = parser.parse_args()
    task = (f"scoring {arguments.score}" if arguments.score
            else f"{arguments.architecture}, {arguments.per_class} training examples per class")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {task}, "
          f"{arguments.test_per_class} test examples per class", flush=True)
    results = [(score if arguments.score else run)(method, arguments) for method in arguments.methods]
    print("\n| dataset | accuracy | precision | recall | false positive rate | paper (acc / prec / rec / FPR) "
          "| epochs (best) | s/epoch |\n|---|---:|---:|---:|---:|---|---:|---:|")
    for result in results:
        test = result["test"]
        paper = " / ".join(f"{value:.2f}" for value in PAPER[result["method"]])
        print(f"| {METHODS[result['method']]} | {test['accuracy']:.2f} | {test['precision']:.2f} | "
              f"{test['recall']:.2f} | {test['false_positive_rate']:.2f} | {paper} | "
              f"{result['epochs_run']} ({result['best_epoch']}) | {result['seconds_per_epoch']:.0f} |")
    if arguments.json:
        with open(arguments.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
