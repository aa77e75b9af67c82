"""Temperature scaling of the dense detector's probabilities (Guo et al., 2017).

A network trained by cross entropy is often over- or under-confident. Dividing its logits by one
temperature T > 0, fitted to minimise the negative log-likelihood of held-out maps the network
never trained on, keeps every pixel's ranking and makes P = 0.9 mean about 9 in 10 (per pixel).
The temperature is stored in the model file's metadata ("temperature") and applied by detection.
"""
import numpy as np
from scipy.optimize import minimize_scalar

from ..common.errors import Cancelled
from ..synthesis.training_maps import IGNORE
from .dense_network import SIZE_MULTIPLE, network_input

TEMPERATURE_RANGE = (0.2, 5.0)
MAX_PIXELS = 2_000_000  # known pixels kept for the fit (a random subset beyond this)


def map_logits(network, velocity, pixel_m, measurements=None):
    """(K, H, W) float32 logits of one (H, W) velocity map (mm/yr) with ``pixel_m`` metre pixels.

    ``measurements``: (2, H, W) what the map was interpolated from (dense_network.network_input;
    None: a dense map, its own measurement). A map whose side the network cannot take is padded
    with holes to the next side it can.
    """
    import torch

    network.eval()
    rows, cols = velocity.shape
    padding = [(0, -side % (SIZE_MULTIPLE * network.stride)) for side in (rows, cols)]
    velocity = np.pad(velocity, padding, constant_values=np.nan)
    if measurements is not None:
        measurements = np.pad(measurements, [(0, 0)] + padding, constant_values=np.nan)
    image = network_input(velocity, pixel_m=pixel_m, measurements=measurements, channels=network.input_channels)
    with torch.no_grad():
        return network(torch.from_numpy(image[None]))[0, :, :rows, :cols].numpy()


def softmax(logits, temperature=1.0):
    """Class probabilities of (K, ...) logits divided by ``temperature``."""
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=0, keepdims=True)
    exponentials = np.exp(scaled)
    return exponentials / exponentials.sum(axis=0, keepdims=True)


def fit_temperature(logits, labels, seed=0):
    """The temperature minimising the mean negative log-likelihood of ``labels``.

    ``logits``: (K, N) float per pixel; ``labels``: (N,) class indices or IGNORE (skipped).
    Returns (temperature, NLL before, NLL after).
    """
    known = labels != IGNORE
    logits, labels = logits[:, known], labels[known].astype(np.int64)
    if labels.size > MAX_PIXELS:
        keep = np.random.default_rng(seed).choice(labels.size, MAX_PIXELS, replace=False)
        logits, labels = logits[:, keep], labels[keep]
    columns = np.arange(labels.size)

    def nll(log_temperature):
        scaled = logits / np.exp(log_temperature)
        shifted = scaled - scaled.max(axis=0)
        log_total = np.log(np.exp(shifted).sum(axis=0))
        return float(np.mean(log_total - shifted[labels, columns]))

    bounds = np.log(TEMPERATURE_RANGE)
    best = minimize_scalar(nll, bounds=bounds, method="bounded", options={"xatol": 1e-3})
    return float(np.exp(best.x)), nll(0.0), float(best.fun)


def each_map_logits(network, maps, is_cancelled=None):
    """Yield the (K, S, S) logits of each map of ``maps`` (dense_training.LabelledMaps); Cancelled when asked."""
    for velocity, pixel, measurements in zip(maps.velocity, maps.pixel_m, maps.measurements):
        if is_cancelled is not None and is_cancelled():
            raise Cancelled()
        yield map_logits(network, velocity, pixel, measurements)


def calibrate(logits, labels):
    """Fit the temperature on held-out maps; returns a dict for the model's metadata.

    ``logits``: the (K, S, S) logits of each of N maps (each_map_logits); ``labels``: (N, S, S)
    classes or IGNORE.
    """
    stacked = np.concatenate([map_logits.reshape(len(map_logits), -1) for map_logits in logits], axis=1)
    temperature, before, after = fit_temperature(stacked, labels.reshape(-1))
    return {"temperature": temperature, "nll_before": before, "nll_after": after, "maps": int(len(labels))}
