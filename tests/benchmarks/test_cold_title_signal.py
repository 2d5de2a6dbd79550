"""The cold-start benchmark's fitted biases: a cold item's bias predicted from the trained items only."""

import importlib.util
import math
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "cold_title_signal.py"
spec = importlib.util.spec_from_file_location("cold_title_signal", SCRIPT)
cold_title_signal = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cold_title_signal)


def test_ridge_bias_recovers_a_linear_bias_and_never_reads_cold_items():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(200, 3, generator=generator)
    bias = features @ torch.tensor([1.0, -2.0, 0.5]) + 4.0
    warm = torch.ones(200, dtype=torch.bool)
    warm[:20] = False
    corrupted = bias.clone()
    corrupted[:20] = 1e6  # a cold item's own bias must not leak into its prediction
    predicted, fit = cold_title_signal.ridge_bias(features, corrupted, warm, seed=0)
    assert fit["cross_validated_correlation"] > 0.999
    torch.testing.assert_close(predicted, bias, atol=0.05, rtol=0)


def test_ridge_bias_finds_no_signal_in_noise():
    generator = torch.Generator().manual_seed(1)
    features, bias = torch.randn(300, 5, generator=generator), torch.randn(300, generator=generator)
    _, fit = cold_title_signal.ridge_bias(features, bias, torch.ones(300, dtype=torch.bool), seed=0)
    assert abs(fit["cross_validated_correlation"]) < 0.2


def test_the_first_level_puts_every_cold_item_above_every_trained_one():
    scores = [torch.tensor([[5.0, -3.0, 2.0], [1.0, 0.5, 9.0]]), torch.tensor([[0.0, -8.0, 4.0]])]
    warm = torch.tensor([True, False, True])
    bias = cold_title_signal.cold_bias("first", torch.tensor([5.0, 2.0]), scores, warm)
    for split in scores:
        assert (split[:, ~warm] + bias).min() > split[:, warm].max()
    assert cold_title_signal.cold_bias(1.0, torch.tensor([5.0, 2.0]), scores, warm) == 5.0


def test_content_similarity_ranks_the_cold_item_whose_title_matches_the_history_first():
    embeddings = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.2], [0.9, 0.1], [-0.2, -1.0]])
    examples = [{"history": [0], "target": 3}, {"history": [1], "target": 3}]
    gains = cold_title_signal.content_similarity_gains(embeddings, examples, cold=[2, 3, 4])
    # centred, item 3 points like item 0 (rank 1 of the cold items 2-4) and is second closest to item 1, after item 2
    assert gains.tolist() == [1.0, pytest.approx(1 / math.log2(3))]
