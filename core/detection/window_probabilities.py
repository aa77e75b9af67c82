"""Over-wrapped class probabilities of sliding windows over a velocity image (section II-A, III-C).

Windows of the network's input size are laid on a lattice: the window
(i, j) starts at image pixel ``origin + (i, j) * stride``. Two ways to get
their probabilities, which agree up to the windows' edge padding:

* :func:`per_window_probabilities` classifies each window on its own, as
  the paper does (exact, slow);
* :func:`shared_probabilities` runs the classifier's fully convolutional
  form over the whole image once per look and reads the windows off it
  (fast; the lattice must follow the network's stride).

Both return (rows, cols, C) float64 class probabilities after over-wrapping
(P_mu = max over tau, P_final = mean over mu); a window holding no
measurement at all is "no deformation" (probability 1 for class 0).
"""
import numpy as np

from ..common.errors import Cancelled, InputError
from ..learning.patch_classifier import classify_patches, combine_looks
from ..learning.wrapping import network_input, wrap_pairs


def valid_counts(velocity, window, origin, counts, stride):
    """(rows, cols) number of finite pixels in each lattice window of a (H, W) image."""
    finite = np.zeros((velocity.shape[0] + 1, velocity.shape[1] + 1), dtype=np.int64)
    finite[1:, 1:] = np.isfinite(velocity).cumsum(axis=0).cumsum(axis=1)
    top = origin[0] + stride * np.arange(counts[0])
    left = origin[1] + stride * np.arange(counts[1])
    bottom, right = top + window, left + window
    return (finite[bottom][:, right] - finite[top][:, right] - finite[bottom][:, left] + finite[top][:, left])


def no_deformation(counts, class_count):
    """(rows, cols, C) probabilities of windows without data: certainly no deformation."""
    probabilities = np.zeros((*counts, class_count))
    probabilities[..., 0] = 1.0
    return probabilities


class _Windows:
    """The listed lattice windows of an image as a sequence of (window, window) views."""

    def __init__(self, velocity, window, origin, stride, positions):
        self.velocity, self.window, self.origin, self.stride, self.positions = (
            velocity, window, origin, stride, positions)

    def __len__(self):
        return len(self.positions)

    def __getitem__(self, index):
        i, j = self.positions[index]
        top, left = self.origin[0] + i * self.stride, self.origin[1] + j * self.stride
        return self.velocity[top : top + self.window, left : left + self.window]


def per_window_probabilities(network, class_count, velocity, window, origin, counts, stride, intervals, offsets,
                             device="cpu", batch_size=64, is_cancelled=None, measured=None):
    """Class probabilities (rows, cols, C) of each lattice window of ``velocity`` classified alone.

    ``velocity``: (H, W) mm/yr, NaN = no data; every window must lie inside it.
    ``origin``: (row, col) pixel of the first window; ``counts``: (rows, cols)
    windows; ``stride``: pixels between windows; ``intervals``, ``offsets``: mu
    and tau in mm/yr. ``measured``: (rows, cols) bool, the windows that hold
    data (default: those with a finite pixel of ``velocity``).
    """
    probabilities = no_deformation(counts, class_count)
    if measured is None:
        measured = valid_counts(velocity, window, origin, counts, stride) > 0
    measured = np.argwhere(measured)
    if len(measured):
        windows = _Windows(velocity, window, origin, stride, [tuple(position) for position in measured])
        probabilities[measured[:, 0], measured[:, 1]] = classify_patches(
            network, windows, intervals, offsets, device, batch_size, is_cancelled=is_cancelled)
    return probabilities


def shared_probabilities(shared, class_count, velocity, origin, counts, stride, intervals, offsets, device="cpu",
                         is_cancelled=None, measured=None):
    """Class probabilities (rows, cols, C) of the lattice windows from the shared convolutions.

    ``shared``: a core.learning.shared_classifier.SharedClassifier. ``origin`` and
    ``stride`` must be multiples of ``shared.stride``. Other arguments as
    :func:`per_window_probabilities`; pixels beyond the lattice windows
    (up to ``shared.margin``) are used as context, as in the untiled map.
    """
    if stride % shared.stride or origin[0] % shared.stride or origin[1] % shared.stride:
        raise InputError("STRIDE", f"must be a multiple of the network's stride ({shared.stride} px) "
                                   f"for shared evaluation, got {stride}")
    if measured is None:
        measured = valid_counts(velocity, shared.window, origin, counts, stride) > 0
    if not measured.any():
        return no_deformation(counts, class_count)
    pairs = wrap_pairs(intervals, offsets)
    step = stride // shared.stride
    first = (origin[0] // shared.stride, origin[1] // shared.stride)
    looks = []
    for mu, tau in pairs:
        if is_cancelled and is_cancelled():
            raise Cancelled()
        image = network_input(velocity, mu, tau)[None]
        grid = _lattice_probabilities(shared, image, device)
        grid = grid[first[0] : first[0] + step * counts[0] : step, first[1] : first[1] + step * counts[1] : step]
        looks.append(grid.reshape(-1, class_count))
    probabilities = combine_looks(np.stack(looks), pairs).reshape(*counts, class_count)
    probabilities[~measured] = no_deformation((1,), class_count)[0]
    return probabilities


def _lattice_probabilities(shared, image, device):
    """(rows, cols, C) softmax probabilities at every shared-form position of one (1, 3, H, W) input."""
    import torch

    with torch.no_grad():
        batch = torch.from_numpy(np.ascontiguousarray(image)).to(device, memory_format=torch.channels_last)
        logits = shared.module(batch)[0]
        return torch.softmax(logits.float(), dim=0).permute(1, 2, 0).cpu().numpy().astype(np.float64)
