"""Tests of core/interpolation/matrix_completion.py (Algorithm 1).

Accuracy against truth, agreement with the full-SVD version, speed inside QGIS.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from insar_deformation_detector.core.common.errors import Cancelled, InputError
from insar_deformation_detector.core.interpolation.delaunay import delaunay_interpolate
from insar_deformation_detector.core.interpolation.matrix_completion import (
    MatrixCompletionSettings,
    complete_fast,
    complete_reference,
    shrink_singular_values,
)
from insar_deformation_detector.core.synthesis.synthetic_scene import make_sparse_scene

from helpers import GSL_CBLAS, ROOT, rmse


@pytest.fixture(scope="module")
def noisy_scene():
    """200 x 200 px at 10 m, 10% measured, with spike noise."""
    return make_sparse_scene(200, 200, seed=11)


def test_scene_is_sparse_and_noisy(noisy_scene):
    measured = np.isfinite(noisy_scene.sparse)
    assert 0.08 < measured.mean() < 0.12
    spikes = np.abs(noisy_scene.sparse[measured] - noisy_scene.truth[measured])
    assert spikes.max() > 5.0  # the heavy tail of spike noise is there


def test_matrix_completion_beats_delaunay_on_noisy_sparse_data(noisy_scene):
    rows, cols = np.nonzero(np.isfinite(noisy_scene.sparse))
    delaunay = delaunay_interpolate(rows, cols, noisy_scene.sparse[rows, cols], noisy_scene.sparse.shape)
    completed = complete_fast(noisy_scene.sparse)
    assert rmse(completed, noisy_scene.truth) < 0.6 * rmse(delaunay, noisy_scene.truth)
    assert rmse(completed, noisy_scene.truth) < 0.7  # mm/yr (measured 0.62), against 1.4 mm/yr of signal


def test_fast_solver_matches_full_svd_algorithm(noisy_scene):
    small = make_sparse_scene(120, 100, seed=4)
    fast, reference = complete_fast(small.sparse), complete_reference(small.sparse)
    assert fast.shape == reference.shape == (120, 100)
    assert rmse(fast, reference) < 0.01
    assert rmse(fast, small.truth) <= 1.01 * rmse(reference, small.truth)


def test_shrinkage_follows_the_p_norm_rule():
    s = np.array([10.0, 1.0, 0.1, 0.0])
    shrunk = shrink_singular_values(s, alpha=2.2, p=0.8)
    expected = np.maximum(0.0, s[:3] - 1.0 * s[:3] ** -0.2)  # alpha / (2 * 1.1) = 1
    np.testing.assert_allclose(shrunk, np.append(expected, 0.0))
    assert shrunk[2] == 0.0 and shrunk[0] > 9.0


def test_cancel_stops_between_iterations(noisy_scene):
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 5

    with pytest.raises(Cancelled):
        complete_fast(noisy_scene.sparse, is_cancelled=cancelled)
    assert len(calls) == 6


@pytest.mark.parametrize("field, value", [("p", 0.0), ("p", 1.5), ("sigma", -1.0), ("tau", 0.0),
                                          ("max_iterations", 0)])
def test_settings_out_of_range_name_the_parameter(field, value):
    with pytest.raises(InputError) as error:
        MatrixCompletionSettings(**{field: value}).validate()
    assert error.value.parameter == {"max_iterations": "MAX_ITERATIONS"}.get(field, field.upper())


@pytest.mark.parametrize("level", [0.0, -3.5])
def test_a_uniform_map_comes_back_uniform(level):
    rng = np.random.default_rng(2)
    sparse = np.where(rng.random((90, 70)) < 0.1, level, np.nan).astype(np.float32)
    completed = complete_fast(sparse)
    np.testing.assert_allclose(completed, level, atol=0.02)


SOLVER_SECONDS = """
import sys, time
sys.path.insert(0, {pluginpath!r})
from insar_deformation_detector.core.interpolation.matrix_completion import complete_fast
from insar_deformation_detector.core.synthesis.synthetic_scene import make_sparse_scene
sparse = make_sparse_scene(400, 400, seed=1).sparse
started = time.process_time()
complete_fast(sparse)
print(time.process_time() - started)
"""


@pytest.mark.skipif(GSL_CBLAS is None, reason="GSL's CBLAS (libgslcblas) is not installed")
def test_solver_runs_as_fast_where_gsl_cblas_was_loaded_before_numpy():
    """Inside QGIS on Linux NumPy's products bind to GSL's reference CBLAS (LD_PRELOAD does the same here).

    Processor seconds on one BLAS thread, which other work on the machine
    disturbs less than wall time. Measured on a 400 px tile: 1.3 s plain,
    1.4 s under GSL's CBLAS; with NumPy's ``@`` in the solver, 2.1 and 6.5 s.
    """
    code = SOLVER_SECONDS.format(pluginpath=os.path.join(ROOT, "build", "pluginpath"))
    seconds = {}
    for name, preload in (("plain", None), ("gsl", GSL_CBLAS)):
        environment = dict(os.environ, OPENBLAS_NUM_THREADS="1", **({"LD_PRELOAD": preload} if preload else {}))
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                                env=environment)
        assert result.returncode == 0, result.stderr
        seconds[name] = float(result.stdout.split()[-1])
    assert seconds["gsl"] < 2.0 * seconds["plain"], seconds


def test_the_solver_makes_no_matrix_product_through_numpy():
    """NumPy's products bind to GSL's reference CBLAS inside QGIS: the solver must call matmul instead."""
    import ast

    from insar_deformation_detector.core.interpolation import matrix_completion

    with open(matrix_completion.__file__) as handle:
        tree = ast.parse(handle.read())
    products = [node.lineno for node in ast.walk(tree)
                if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)]
    calls = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute)
             and node.attr in ("dot", "matmul", "inner", "tensordot", "vdot", "norm")]
    assert products == [] and calls == [], (products, calls)


def test_the_low_pass_of_a_large_tile_is_the_same_on_any_thread_budget(monkeypatch):
    from scipy.ndimage import gaussian_filter

    from insar_deformation_detector.core.interpolation.matrix_completion import _low_pass

    x = np.random.default_rng(3).standard_normal((600, 700)).astype(np.float32)  # over MATRIX_FILTER_MAX_SIDE
    filtered = {}
    for threads in ("1", "2", "5"):
        monkeypatch.setenv("OMP_NUM_THREADS", threads)
        filtered[threads] = _low_pass(x, 5.0)
    np.testing.assert_array_equal(filtered["1"], filtered["2"])
    np.testing.assert_array_equal(filtered["1"], filtered["5"])
    np.testing.assert_allclose(filtered["1"], gaussian_filter(x, 5.0, mode="reflect"), atol=1e-7)
