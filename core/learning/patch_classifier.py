"""Classifying velocity patches the way the detector does (section III-C).

Each patch is wrapped at every look (interval mu, offset tau); for each look
the network gives class probabilities q (q[0]: no deformation) and the
deformation probability d = 1 - q[0]. For each mu the look with the largest
d is kept (P_mu = max over tau) and the kept probability vectors are
averaged over mu, so P_final = mean over mu of P_mu = 1 - final q[0], and
the remaining entries say which kind of deformation it is.
"""
import numpy as np

from ..common.errors import Cancelled
from .wrapping import network_input, wrap_pairs


def combine_looks(probabilities, pairs):
    """(L, N, C) per-look class probabilities -> (N, C) over-wrapped probabilities.

    ``pairs``: the L (interval, offset) looks, as from core.learning.wrapping.wrap_pairs.
    """
    intervals = sorted({interval for interval, _ in pairs})
    combined = np.zeros(probabilities.shape[1:], dtype=np.float64)
    for interval in intervals:
        looks = probabilities[[i for i, (mu, _) in enumerate(pairs) if mu == interval]]
        best = np.argmax(1.0 - looks[:, :, 0], axis=0)
        combined += looks[best, np.arange(looks.shape[1])]
    return combined / len(intervals)


def look_probabilities(network, inputs, device):
    """Softmax class probabilities (N, C) float64 of a (N, 3, H, W) float32 input batch."""
    import torch

    with torch.no_grad():
        logits = network(torch.from_numpy(np.ascontiguousarray(inputs)).to(device))
        return torch.softmax(logits.float(), dim=1).cpu().numpy().astype(np.float64)


def classify_patches(network, patches, intervals, offsets, device="cpu", batch_size=64,
                     progress=None, is_cancelled=None):
    """Over-wrapped class probabilities (N, C) of (N, P, P) velocity patches in mm/yr.

    ``patches`` may be any sequence of (P, P) arrays (e.g. a memory-mapped
    dataset). Raises core.common.errors.Cancelled when ``is_cancelled()`` turns true.
    """
    pairs = wrap_pairs(intervals, offsets)
    network.eval()
    results = []
    for start in range(0, len(patches), batch_size):
        if is_cancelled and is_cancelled():
            raise Cancelled()
        batch = [np.asarray(patches[i], dtype=np.float32) for i in range(start, min(start + batch_size, len(patches)))]
        looks = np.stack([look_probabilities(network, np.stack([network_input(patch, mu, tau) for patch in batch]),
                                             device) for mu, tau in pairs])
        results.append(combine_looks(looks, pairs))
        if progress:
            done = min(start + batch_size, len(patches))
            progress(done / len(patches), f"classified {done} of {len(patches)} patches")
    return np.concatenate(results)


def predicted_classes(probabilities, threshold=0.5):
    """Class index per row of (N, C) over-wrapped probabilities: 0 below ``threshold``, else the likeliest kind."""
    deformation = 1.0 - probabilities[:, 0]
    kind = 1 + np.argmax(probabilities[:, 1:], axis=1)
    return np.where(deformation >= threshold, kind, 0)
