"""Tests of core/learning/networks.py."""
import torch

from insar_deformation_detector.core.learning.networks import build_network, transfer_weights


def test_transfer_copies_matching_layers_only():
    source = build_network("alexnet", 1000).state_dict()
    network = build_network("alexnet_compact", 3)
    copied, skipped = transfer_weights(network, source)
    assert all(name.startswith("features.") for name in copied) and len(copied) == 10
    assert "classifier.6.weight" in skipped
    assert torch.equal(network.state_dict()["features.0.weight"], source["features.0.weight"])
    normalised = build_network("alexnet_bn", 2)
    copied, _ = transfer_weights(normalised, source)
    assert len(copied) == 10  # the five convolutions, moved past the batch-normalisation layers
    assert torch.equal(normalised.state_dict()["features.14.weight"], source["features.10.weight"])
