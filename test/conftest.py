"""Shared fixtures: the plugin importable as ``insar_deformation_detector``, scenes, helpers.

pytest-qgis starts a headless QgsApplication with a throw-away profile
(``.qgis-settings/``) before this file is imported.
"""
import gc
import os
import sys

import pytest

# Tests in sub-folders import the shared helpers module by name (pytest runs with --import-mode=importlib).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import ROOT

sys.path.insert(0, os.path.join(ROOT, "scripts"))

import qgis_process_runner

sys.path.insert(0, qgis_process_runner.ensure_plugin_path())

from insar_deformation_detector.core.synthesis import synthetic_scene

import noise_fields

SCENE_HEIGHT, SCENE_WIDTH = 100, 120


@pytest.fixture(autouse=True)
def collect_cycles_while_qgis_runs():
    """Free reference cycles (caught exceptions, their frames, the contexts and layers those
    hold) after each test, while QGIS still runs: collected after QGIS has exited, the QGIS
    objects in them crash the interpreter (a segfault at exit even though every test passed)."""
    yield
    gc.collect()


@pytest.fixture(scope="session")
def scene():
    return synthetic_scene.make_sparse_scene(SCENE_HEIGHT, SCENE_WIDTH, pixel_size=10.0, seed=7)


@pytest.fixture(scope="session")
def scene_files(scene, tmp_path_factory):
    """Paths of the truth and sparse GeoTIFFs and the points GeoPackage (read-only by convention)."""
    return synthetic_scene.write_scene(scene, str(tmp_path_factory.mktemp("scene")))


@pytest.fixture(scope="session")
def plugin(qgis_app):
    """The plugin loaded the way QGIS (and qgis_process) loads it: classFactory(None)."""
    import insar_deformation_detector

    instance = insar_deformation_detector.classFactory(None)
    instance.initProcessing()
    yield instance
    instance.unload()


@pytest.fixture(scope="session")
def run(qgis_processing, plugin):
    """processing.run of ``insardefo:<algorithm>`` with a fresh context (and the given feedback)."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    def run_algorithm(algorithm, feedback=None, **parameters):
        return processing.run(f"insardefo:{algorithm}", parameters, context=QgsProcessingContext(),
                              feedback=feedback or QgsProcessingFeedback())

    return run_algorithm


@pytest.fixture(scope="session")
def run_algorithm(qgis_processing, plugin):
    """processing.run on insardefo:interpolate with a fresh context and feedback."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    def run(**parameters):
        context = QgsProcessingContext()
        return processing.run("insardefo:interpolate", parameters, context=context,
                              feedback=QgsProcessingFeedback())

    return run


@pytest.fixture(scope="session")
def qgis_process(tmp_path_factory):
    """A qgis_process runner with its own profile, shared by the session."""
    runner = qgis_process_runner.QgisProcess(str(tmp_path_factory.mktemp("qgis-profile")))
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """A two-class (none, point source) dataset of 2 x 12 patches of 64 px, Delaunay-interpolated."""
    from insar_deformation_detector.core.synthesis.training_examples import SynthesisConfig, generate_dataset

    folder = str(tmp_path_factory.mktemp("tiny") / "dataset")
    generate_dataset(SynthesisConfig(kind="point", count_per_class=12, patch_size=64,
                                     interpolation="delaunay", seed=5), folder, workers=1)
    return folder


@pytest.fixture(scope="session")
def map_dataset(tmp_path_factory):
    """Eight training maps of 64 px with a class per pixel, for the dense family."""
    from insar_deformation_detector.core.synthesis.training_maps import generate_training_maps

    folder = str(tmp_path_factory.mktemp("maps") / "dataset")
    generate_training_maps(folder, 8, seed=3, size_px=64, workers=1)
    return folder


@pytest.fixture(scope="session")
def window_dataset(tmp_path_factory):
    """Three classes x 3 patches of 224 px (the detector's windows), Delaunay-interpolated."""
    from insar_deformation_detector.core.synthesis.training_examples import SynthesisConfig, generate_dataset

    folder = str(tmp_path_factory.mktemp("windows") / "dataset")
    generate_dataset(SynthesisConfig(kind="both", count_per_class=3, interpolation="delaunay", seed=9), folder,
                     workers=1)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tiny_dataset, tmp_path_factory):
    """A compact AlexNet trained for two epochs on ``tiny_dataset``: (model path, train() result)."""
    from insar_deformation_detector.core.learning.examples import Examples, open_datasets
    from insar_deformation_detector.core.learning.training import TrainingConfig, train

    path = str(tmp_path_factory.mktemp("model") / "tiny.pt")
    result = train(Examples(open_datasets([tiny_dataset])),
                   TrainingConfig(architecture="alexnet_compact", epochs=2, batch_size=8, learning_rate=1e-3,
                                  validation_fraction=0.25, seed=1), path)
    return path, result


@pytest.fixture(scope="session")
def noise_field():
    """A 300 x 300 pixel (15 km) noisy velocity field of known covariance (noise_fields), read-only."""
    field = noise_fields.noisy_field(300, seed=11)
    field.setflags(write=False)
    return field


@pytest.fixture(scope="session")
def noise_raster(noise_field, tmp_path_factory):
    """GeoTIFF of ``noise_field`` with 90 % of its pixels unmeasured (NaN)."""
    return noise_fields.write_sparse_field(str(tmp_path_factory.mktemp("noise") / "velocity.tif"), noise_field)


@pytest.fixture(scope="session")
def dense_model(tmp_path_factory):
    """Path of a dense-family model file: an untrained unet_tiny with fixed random weights and statistics."""
    return _untrained_dense_model(str(tmp_path_factory.mktemp("dense-model") / "dense.pt"), "unet_tiny")


@pytest.fixture(scope="session")
def strided_dense_model(tmp_path_factory):
    """Path of an untrained unet_strided model file with fixed random weights and statistics."""
    return _untrained_dense_model(str(tmp_path_factory.mktemp("strided-model") / "dense.pt"), "unet_strided")


def _untrained_dense_model(path, architecture):
    import torch

    from insar_deformation_detector.core.learning.dense_network import INPUT_CHANNEL_NAMES, build_dense_network
    from insar_deformation_detector.core.learning.model_file import plugin_version, save_model

    torch.manual_seed(0)
    network = build_dense_network(architecture, 3)
    for layer in network.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):  # statistics far from the defaults, so outputs vary
            layer.running_mean.normal_()
            layer.running_var.uniform_(0.5, 2.0)
    save_model(path, network, {"family": "dense", "architecture": architecture, "plugin_version": plugin_version(),
                               "classes": ["no_deformation", "point_source", "tunnel"], "pixel_size_m": 20.0,
                               "coarsest_pixel_m": 100.0, "input_channels": INPUT_CHANNEL_NAMES})
    return path
