"""Every algorithm's parameters with all its file inputs and outputs set, for the tests of the file rules."""
import os

from insar_deformation_detector.core.common.staging import PREFIX

from helpers import ROOT

DEFAULT_MODEL = os.path.join(ROOT, "resources", "models", "default.pt")


def algorithm_cases(files, out):
    """{algorithm: (parameters, [input parameters that are files], [output parameters])}."""
    return {
        "interpolate": ({"INPUT": files["sparse"], "OUTPUT": out("dense.tif"), "NOISE": out("noise.tif")},
                        ["INPUT"], ["OUTPUT", "NOISE"]),
        "noisestats": ({"INPUT": files["sparse"], "OUTPUT_JSON": out("noise.json"), "OUTPUT_PLOT": out("noise.png")},
                       ["INPUT"], ["OUTPUT_JSON", "OUTPUT_PLOT"]),
        "syntheticscene": ({"WIDTH": 100, "HEIGHT": 100, "NOISE_MAP": files["sparse"],
                            "OUTPUT_SPARSE": out("s.tif"), "OUTPUT_POINTS": out("p.gpkg"),
                            "OUTPUT_DEFORMATION": out("d.tif"), "OUTPUT_TRUTH": out("t.gpkg"),
                            "OUTPUT_NOISE_FREE": out("n.tif")},
                           ["NOISE_MAP"], ["OUTPUT_SPARSE", "OUTPUT_POINTS", "OUTPUT_DEFORMATION", "OUTPUT_TRUTH",
                                           "OUTPUT_NOISE_FREE"]),
        "synthesize": ({"COUNT": 1, "PATCH_SIZE": 32, "NOISE_STATS": files["statistics"], "NOISE_MAP": files["sparse"],
                        "MASK_SOURCE": files["points"], "OUTPUT": out("dataset")},
                       ["NOISE_STATS", "NOISE_MAP", "MASK_SOURCE"], ["OUTPUT"]),
        "trainingmaps": ({"COUNT": 1, "MAP_SIZE": 32, "OUTPUT": out("maps")}, [], ["OUTPUT"]),
        "detect": ({"INPUT": files["dense"], "MODEL": DEFAULT_MODEL, "OUTPUT_PROBABILITY": out("p.tif"),
                    "OUTPUT_AREAS": out("a.gpkg"), "OUTPUT_VELOCITY": out("v.tif"), "OUTPUT_WRAPPED": out("w.tif")},
                   ["INPUT", "MODEL"], ["OUTPUT_PROBABILITY", "OUTPUT_AREAS", "OUTPUT_VELOCITY", "OUTPUT_WRAPPED"]),
        "threshold": ({"INPUT": files["sparse"], "OUTPUT_AREAS": out("a.gpkg"), "OUTPUT_LEVELS": out("l.tif")},
                      ["INPUT"], ["OUTPUT_AREAS", "OUTPUT_LEVELS"]),
        "combine": ({"ASCENDING": [files["probability"]], "DESCENDING": [files["probability2"]],
                     "OUTPUT_PROBABILITY": out("c.tif"), "OUTPUT_AREAS": out("c.gpkg")},
                    ["ASCENDING", "DESCENDING"], ["OUTPUT_PROBABILITY", "OUTPUT_AREAS"]),
        "train": ({"DATASET": files["dataset"], "INIT_WEIGHTS": files["model"], "REAL_NEGATIVES": files["dense"],
                   "EPOCHS": 1, "OUTPUT_MODEL": out("m.pt"), "OUTPUT_REPORT": out("r.html"),
                   "OUTPUT_CURVE": out("c.png")},
                  ["DATASET", "INIT_WEIGHTS", "REAL_NEGATIVES"], ["OUTPUT_MODEL", "OUTPUT_REPORT", "OUTPUT_CURVE"]),
        "evaluate": ({"MODEL": files["model"], "DATASET": files["dataset"], "OUTPUT_REPORT": out("r.html")},
                     ["MODEL", "DATASET"], ["OUTPUT_REPORT"]),
    }


def assert_refused(caught, *words):
    message = str(caught.value)
    for word in words:
        assert word in message, message
    assert "Traceback" not in message and PREFIX not in message, message
