"""Fixtures shared by the tests of core: the bundled model and a real-looking interpolated scene."""
import pytest

from insar_deformation_detector.core.learning.model_file import DEFAULT_MODEL_PATH, load_model

from helpers import interpolated_scene


@pytest.fixture(scope="module")
def model():
    """The bundled default model (resources/models/default.pt); per module, as detection moves it to eval mode."""
    return load_model(DEFAULT_MODEL_PATH)


@pytest.fixture(scope="session")
def real_looking(tmp_path_factory):
    """A 480 x 480 px scene with 3 point sources: its sparse, truth and MC-dense files."""
    return interpolated_scene(tmp_path_factory.mktemp("detection-scene"), 480, seed=3, point_sources=3, tunnels=0)
