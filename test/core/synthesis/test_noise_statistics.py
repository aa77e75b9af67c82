"""Tests of core/synthesis/noise_statistics.py: semivariogram, covariance and the fit of equation 1 (section II-B)."""
import json
import os

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from insar_deformation_detector.core.common.errors import Cancelled, InputError
from insar_deformation_detector.core.synthesis import noise_statistics
from insar_deformation_detector.core.synthesis.noise_statistics import (
    estimate,
    estimate_from_raster,
    load_noise_statistics,
    pair_sums,
    sample_raster,
)

from helpers import write_raster
from noise_fields import NUGGET, A, B, noisy_field, sampled_pixels


def test_fit_recovers_a_b_and_the_nugget():
    # Six 20 km x 20 km fields, 4000 of their 160,000 pixels each: one field holds only about
    # (20 B)^2 ~ 600 independent patches, so a single fit scatters by ~15 %; the mean of six by ~6 %.
    # C(d) about the sample mean sits ~0.01 mm^2/yr^2 low at every d, which steepens the fit:
    # b comes out ~5-10 % high. The tolerances cover both.
    fits = []
    for seed in range(6):
        x, y, v = sampled_pixels(noisy_field(400, seed), 4000, seed)
        statistics = estimate(x, y, v, seed=seed)
        assert statistics.sample_size == 4000 and statistics.nugget == pytest.approx(statistics.sill - statistics.a)
        fits.append((statistics.a, statistics.b, statistics.nugget, statistics.sill))
    a, b, nugget, sill = np.mean(fits, axis=0)
    assert a == pytest.approx(A, rel=0.15)
    assert b == pytest.approx(B, rel=0.2)
    assert nugget == pytest.approx(NUGGET, abs=0.15)
    assert sill == pytest.approx(A + NUGGET, rel=0.1)


def test_pair_sums_match_all_pairs_computed_at_once(monkeypatch):
    monkeypatch.setattr(noise_statistics, "PAIR_BUDGET", 2000)  # 6 rows per chunk: many chunks
    rng = np.random.default_rng(3)
    x, y, z = rng.uniform(0, 4, 300), rng.uniform(0, 4, 300), rng.normal(0, 1, 300)
    sums = pair_sums(x, y, z, 2.0, 8)

    distance = pdist(np.column_stack([x, y]))
    first, second = np.triu_indices(300, k=1)
    near = distance <= 2.0
    index = np.minimum((distance[near] / 0.25).astype(int), 7)
    expected = [np.bincount(index, weights, minlength=8) for weights in (
        None, distance[near], 0.5 * (z[first] - z[second])[near] ** 2, (z[first] * z[second])[near])]
    np.testing.assert_allclose(sums, expected, rtol=1e-12, atol=1e-12)


def test_raster_sample_is_uniform_over_the_measured_pixels(monkeypatch, tmp_path):
    monkeypatch.setattr(noise_statistics, "BLOCK_PIXELS", 2000)  # 10 rows per block: 30 blocks
    values = np.arange(300 * 200, dtype=float).reshape(300, 200)
    values[np.random.default_rng(4).random(values.shape) < 0.5] = np.nan
    values[:, 100:][np.random.default_rng(5).random((300, 100)) < 0.8] = np.nan  # east half sparser
    path = write_raster(str(tmp_path / "velocity.tif"), values, (1000.0, 10.0, 0.0, 5000.0, 0.0, -10.0))

    x, y, v, measurements = sample_raster(path, 1, 3000, np.random.default_rng(0))
    assert measurements == np.isfinite(values).sum()
    assert len(v) == 3000 and len(np.unique(v)) == 3000
    rows, cols = np.divmod(v.astype(int), 200)  # each value is its pixel's index
    np.testing.assert_allclose(x, 1000.0 + (cols + 0.5) * 10.0)
    np.testing.assert_allclose(y, 5000.0 - (rows + 0.5) * 10.0)
    east_share = np.isfinite(values[:, 100:]).sum() / measurements  # 1/6 of the measured pixels
    assert (cols >= 100).mean() == pytest.approx(east_share, abs=0.03)
    assert (rows >= 150).mean() == pytest.approx(0.5, abs=0.04)


def test_same_seed_same_statistics_other_seed_other_sample():
    x, y, v = sampled_pixels(noisy_field(150, 21), 6000, 21)
    first, again, other = (estimate(x, y, v, seed=seed).to_json() for seed in (5, 5, 6))
    assert first == again
    assert other["bins"] != first["bins"]


def test_cancel_stops_in_the_pair_loop():
    x, y, v = sampled_pixels(noisy_field(150, 22), 4000, 22)
    polls = []
    with pytest.raises(Cancelled):
        estimate(x, y, v, is_cancelled=lambda: polls.append(1) or len(polls) > 2)
    assert len(polls) == 3


def test_cancel_stops_while_sampling_a_raster(noise_raster, monkeypatch):
    monkeypatch.setattr(noise_statistics, "BLOCK_PIXELS", 3000)  # 10 rows per block
    polls = []
    with pytest.raises(Cancelled):
        estimate_from_raster(noise_raster, is_cancelled=lambda: polls.append(1) or len(polls) > 3)
    assert len(polls) == 4


def test_white_noise_is_refused_naming_input():
    rng = np.random.default_rng(8)
    with pytest.raises(InputError) as caught:
        estimate(rng.uniform(0, 20000, 4000), rng.uniform(0, 20000, 4000), rng.normal(0, 1, 4000), seed=1)
    assert caught.value.parameter == "INPUT"
    assert "white" in str(caught.value)


def test_load_round_trip(noise_field, tmp_path):
    x, y, v = sampled_pixels(noise_field, 2000, 31)
    statistics = estimate(x, y, v)
    path = str(tmp_path / "noise.json")
    noise_statistics.write_outputs(statistics, path)
    assert os.listdir(tmp_path) == ["noise.json"]
    loaded = load_noise_statistics(path)
    assert loaded == {"a": statistics.a, "b": statistics.b, "nugget": statistics.nugget, "sill": statistics.sill}
    assert all(type(value) is float for value in loaded.values())


GOOD_DOCUMENT = {"format": "insardefo-noisestats", "version": 1, "nugget": 0.6, "sill": 1.8, "a": 1.2, "b": 1.2}
BROKEN_FILES = {
    "missing file": None,
    "not JSON": "a = 1.2\n",
    "binary": b"\x89PNG\r\n\x1a\n\x00\xff",
    "a list": "[1, 2]",
    "foreign format": json.dumps(dict(GOOD_DOCUMENT, format="geojson")),
    "no format": json.dumps({key: value for key, value in GOOD_DOCUMENT.items() if key != "format"}),
    "newer version": json.dumps(dict(GOOD_DOCUMENT, version=2)),
    "missing b": json.dumps({key: value for key, value in GOOD_DOCUMENT.items() if key != "b"}),
    "negative a": json.dumps(dict(GOOD_DOCUMENT, a=-1.0)),
    "zero b": json.dumps(dict(GOOD_DOCUMENT, b=0)),
    "NaN sill": json.dumps(dict(GOOD_DOCUMENT, sill=float("nan"))),
    "infinite a": json.dumps(dict(GOOD_DOCUMENT, a=float("inf"))),
    "negative nugget": json.dumps(dict(GOOD_DOCUMENT, nugget=-0.1)),
    "string b": json.dumps(dict(GOOD_DOCUMENT, b="1.2")),
    "boolean a": json.dumps(dict(GOOD_DOCUMENT, a=True)),
}


@pytest.mark.parametrize("case", sorted(BROKEN_FILES))
def test_load_refuses_a_broken_file_naming_noise_stats(tmp_path, case):
    path = tmp_path / "noise.json"
    content = BROKEN_FILES[case]
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_noise_statistics(str(path))
    assert caught.value.parameter == "NOISE_STATS"
    assert str(caught.value).startswith("NOISE_STATS: ")


def test_load_accepts_a_zero_nugget(tmp_path):
    path = tmp_path / "noise.json"
    path.write_text(json.dumps(dict(GOOD_DOCUMENT, nugget=0)), encoding="utf-8")
    assert load_noise_statistics(str(path))["nugget"] == 0.0


def test_load_needs_a_path():
    with pytest.raises(InputError, match="^NOISE_STATS: "):
        load_noise_statistics("")
