"""Uniform random subsamples of data streamed in blocks (bottom-k sampling)."""
import numpy as np


def keep_smallest_keys(kept, candidates, sample_size):
    """The ``sample_size`` entries with the smallest key among two tuples of equal-length arrays.

    Each tuple is (keys, ...): every array holds one entry per item and the
    first holds its uniform random key. Keeping the smallest keys of
    everything seen so far gives a uniform sample without replacement, with
    memory bounded by the sample and one block.
    """
    merged = tuple(np.concatenate(pair) for pair in zip(kept, candidates))
    if len(merged[0]) <= sample_size:
        return merged
    smallest = np.argpartition(merged[0], sample_size - 1)[:sample_size]
    return tuple(array[smallest] for array in merged)
