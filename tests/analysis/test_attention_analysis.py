"""`iamrec analyze-attention` (HatLLM Figure 2): attention shares on hand-built layouts whose shares are known, the
masks' own guarantees on a real model (an intra layer gives other items nothing), and the command's files."""

import json
from fractions import Fraction

import pytest
import torch

from iamrec.analysis.attention import AttentionShares
from iamrec.cli import main as iamrec_main
from iamrec.data import load_prepared
from iamrec.tokenization import IAMRecProcessor
from model_fixtures import tiny_model
from tokenizer_fixtures import tiny_tokenizer
from training_fixtures import write_tiny_data

# prompt, item 0 (2 tokens), item 1 (3 tokens), the final prompt token
LAYOUT = [-1, 0, 0, 1, 1, 1, -1]


def uniform_causal_weights(length: int, padding: int = 0) -> torch.Tensor:
    """Every query spreads its attention evenly over the real keys up to itself: weight 1 / (q + 1)."""
    weights = torch.zeros(length + padding, length + padding)
    for query in range(length):
        weights[padding + query, padding : padding + query + 1] = 1 / (query + 1)
    return weights


def test_item_token_and_final_token_shares_match_hand_counts():
    """Under uniform causal attention each share is (keys of that kind) / (keys visible); counted by hand below."""
    shares = AttentionShares(num_layers=1)
    weights = uniform_causal_weights(len(LAYOUT))[None, None]  # (batch, heads, T, T)
    shares.add([weights], torch.tensor([LAYOUT]), torch.ones(1, len(LAYOUT)))
    summary = shares.summary()

    # item-token queries at positions 1..5 see 2..6 keys: (same item, other items, prompt) counts per query
    counts = {1: (1, 0, 1), 2: (2, 0, 1), 3: (1, 2, 1), 4: (2, 2, 1), 5: (3, 2, 1)}
    for column, target in enumerate(("same_item", "other_items", "prompt")):
        expected = sum(Fraction(count[column], query + 1) for query, count in counts.items()) / len(counts)
        assert summary["item_tokens"][target][0] == pytest.approx(float(expected), abs=1e-6)
    # per pair: the summed weight over the 9 same-item, 6 other-item and 5 prompt (query, key) pairs
    pairs = {"same_item": 9, "other_items": 6, "prompt": 5}
    for column, (target, count) in enumerate(pairs.items()):
        total = sum(Fraction(c[column], query + 1) for query, c in counts.items())
        assert summary["item_tokens_weight_per_pair"][target][0] == pytest.approx(float(total / count), abs=1e-6)
    # the final token (position 6) sees 7 keys: 5 item tokens and 2 prompt tokens (itself included)
    assert summary["final_token"]["items"][0] == pytest.approx(5 / 7, abs=1e-6)
    assert summary["final_token"]["prompt"][0] == pytest.approx(2 / 7, abs=1e-6)
    assert summary["item_token_queries"] == 5 and summary["final_token_queries"] == 1


def test_shares_average_over_heads_and_ignore_left_padding():
    """Head 1 attends only to each query itself: its item tokens keep everything in their own item, so the mean over
    two heads halves the uniform head's other-item share (shares are rounded to 6 digits). Two padding tokens in front
    change nothing."""
    uniform = uniform_causal_weights(len(LAYOUT), padding=2)
    own = torch.zeros_like(uniform)
    own[range(2, 2 + len(LAYOUT)), range(2, 2 + len(LAYOUT))] = 1
    padded = AttentionShares(num_layers=1)
    item_index = torch.tensor([[-1, -1, *LAYOUT]])
    padded.add([torch.stack([uniform, own])[None]], item_index, torch.tensor([[0, 0] + [1] * len(LAYOUT)]))

    single = AttentionShares(num_layers=1)
    single.add([uniform_causal_weights(len(LAYOUT))[None, None]], torch.tensor([LAYOUT]), torch.ones(1, len(LAYOUT)))
    one_head, two_heads = single.summary(), padded.summary()
    assert two_heads["item_tokens"]["other_items"][0] == pytest.approx(
        one_head["item_tokens"]["other_items"][0] / 2, abs=1e-6
    )
    assert two_heads["item_tokens"]["same_item"][0] == pytest.approx(
        (one_head["item_tokens"]["same_item"][0] + 1) / 2, abs=1e-6
    )
    assert two_heads["final_token"]["prompt"][0] == pytest.approx(
        (one_head["final_token"]["prompt"][0] + 1) / 2, abs=1e-6
    )
    assert two_heads["item_token_queries"] == one_head["item_token_queries"]


def test_no_item_tokens_is_an_error():
    shares = AttentionShares(num_layers=1)
    shares.add([uniform_causal_weights(3)[None, None]], torch.tensor([[-1, -1, -1]]), torch.ones(1, 3))
    with pytest.raises(ValueError, match="no item tokens"):
        shares.summary()


@pytest.fixture
def prepared_and_models(tmp_path):
    """The tiny prepared data, and two random models on its catalog: plain attention, and intra then full."""
    data_dir = write_tiny_data(tmp_path)
    titles = load_prepared(data_dir).titles
    folders = []
    for name, modes in (("full", ["full", "full"]), ("intra-first", ["intra", "full"])):
        folder = tmp_path / name
        tiny_model(modes, vocab_size=len(tiny_tokenizer(add_bos=False)), num_items=len(titles)).save_pretrained(folder)
        IAMRecProcessor(tiny_tokenizer(add_bos=False), titles).save_pretrained(folder)
        folders.append(folder)
    return tmp_path, data_dir, folders


def test_the_command_writes_json_and_plot_and_an_intra_layer_gives_other_items_nothing(prepared_and_models):
    root, data_dir, (full, intra_first) = prepared_and_models
    argv = ["analyze-attention", "--models", str(full), str(intra_first), "--data-dir", str(data_dir)]
    argv += ["--dtype", "float32"]  # shares that sum to 1 to the last digit (bf16 weights sum to 1 within 1e-3)
    assert iamrec_main([*argv, "--output-dir", str(root / "out"), "--num-users", "5", "--without-masks"]) == 0

    record = json.loads((root / "out" / "attention_shares.json").read_text())
    assert record["num_users"] == 5
    assert list(record["models"]) == ["full", "full, no masks", "intra-first", "intra-first, no masks"]
    plain, masked = record["models"]["full"], record["models"]["intra-first"]
    unmasked = record["models"]["intra-first, no masks"]
    assert masked["item_mask_modes"] == ["intra", "full"] and unmasked["item_mask_modes"] == ["full", "full"]
    assert masked["item_tokens"]["other_items"][0] == 0.0  # eq. 3: no item token sees another item
    assert plain["item_tokens"]["other_items"][0] > 0.01  # causal attention does
    assert unmasked["item_tokens"]["other_items"][0] > 0.01  # the same weights without the mask do too
    for key in ("item_tokens", "final_token"):  # a model without masks is unchanged by switching them off
        assert record["models"]["full, no masks"][key] == plain[key]
    for report in (plain, masked):
        for layer in range(2):
            total = sum(report["item_tokens"][target][layer] for target in ("same_item", "other_items", "prompt"))
            assert total == pytest.approx(1, abs=1e-4)
            assert report["final_token"]["items"][layer] + report["final_token"]["prompt"][layer] == pytest.approx(1)
    assert (root / "out" / "attention_shares.png").read_bytes().startswith(b"\x89PNG")


def test_bad_arguments_are_one_line_errors(prepared_and_models, capsys):
    root, data_dir, (full, _) = prepared_and_models
    argv = ["analyze-attention", "--models", str(full), "--data-dir", str(data_dir), "--output-dir", str(root / "o")]
    assert iamrec_main([*argv, "--num-users", "0"]) == 2
    assert "--num-users must be at least 1" in capsys.readouterr().err
    assert iamrec_main([*argv, "--split", "tset"]) == 1
    assert "unknown split 'tset'" in capsys.readouterr().err
    assert not (root / "o").exists()


def test_models_in_folders_of_the_same_name_are_told_apart_by_their_paths(tmp_path):
    from iamrec.commands.analyze_attention import distinct_names

    study = [str(tmp_path / name / "seed-0" / "model") for name in ("hatllm", "hatllm_ids")]
    assert distinct_names(study) == ["hatllm/seed-0/model", "hatllm_ids/seed-0/model"]
    assert distinct_names([str(tmp_path / "full"), str(tmp_path / "intra")]) == ["full", "intra"]
    assert distinct_names([str(tmp_path / "a"), str(tmp_path / "a")])[1].endswith("a (2)")
