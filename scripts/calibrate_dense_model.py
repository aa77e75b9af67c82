"""Refit a dense model's area calibration and floor on the calibration maps, keeping its weights.

What make default-model fits after training (core.learning.area_confidence), for a model file
made before the floor existed or to check one:

    .venv/bin/python scripts/calibrate_dense_model.py resources/models/dense.pt

The calibration maps are those of scripts/build_dense_model.py (made there unless present).
"""
import argparse
import os

from build_dense_model import CALIBRATION_MAPS, CALIBRATION_SEED, DATA, ensure_maps  # puts the plugin on the path

from insar_deformation_detector.core.learning.area_confidence import FALSE_AREAS_PER_1000_KM2
from insar_deformation_detector.core.learning.dense_model_training import refit_area_calibration


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a dense model file")
    parser.add_argument("--output", help="where to write the refitted model (default: over the input)")
    parser.add_argument("--calibration-folder", default=os.path.join(DATA, "calibration-maps"))
    arguments = parser.parse_args()
    calibration = ensure_maps(arguments.calibration_folder, CALIBRATION_MAPS, CALIBRATION_SEED)
    table = refit_area_calibration(arguments.model, [calibration], arguments.output or arguments.model)
    print(f"{arguments.output or arguments.model}: {table['areas']} areas at {table['level']:g} on "
          f"{table['stable_km2']:.0f} km2 of stable ground; floor {table['min_peak']:.3f} (budget "
          f"{FALSE_AREAS_PER_1000_KM2:g} false area per 1,000 km2; above the floor "
          f"{table['false_areas_per_1000_km2']:.2f})")


if __name__ == "__main__":
    main()
