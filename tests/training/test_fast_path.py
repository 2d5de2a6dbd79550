"""The fast training path (bf16-held base under bf16 autocast, token-budget batches) against the float32 reference."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer, TrainerCallback

from iamrec.baselines import MostPopular
from iamrec.data import load_prepared
from iamrec.data.sequences import ChunkSpec, every_item_sequences
from iamrec.tokenization import IAMRecProcessor
from iamrec.training import IAMRecArguments, train
from iamrec.training.loop import build_model
from training_fixtures import tiny_arguments, write_tiny_base_model, write_tiny_data

TESTS = Path(__file__).resolve().parents[1]
BF16_LOGIT_TOLERANCE = 0.02
"""Largest |logit difference| allowed between the bf16 path and float32, relative to the largest |logit|: bf16 keeps 8
bits of mantissa (0.4% relative rounding per operation); two layers of it stay well inside 2% (0.4% measured)."""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("fast-path")
    return write_tiny_data(root), write_tiny_base_model(root)


def models_and_batches(data_dir: Path, base: Path):
    data = load_prepared(data_dir)
    processor = IAMRecProcessor(AutoTokenizer.from_pretrained(base), data.titles)
    popular = MostPopular(len(data.titles)).fit(data.splits["train"])
    args = IAMRecArguments(data_dir=str(data_dir), base_model=str(base), num_intra=1, head_init="random")
    models = {}
    for dtype in (torch.float32, torch.bfloat16):
        torch.manual_seed(0)
        models[dtype] = build_model(args, str(base), processor, popular, dtype).train()
    sequences = every_item_sequences(data.splits["train"], ChunkSpec(6, 2), [])
    examples = {"last": [data.splits["train"][row] for row in range(8)], "every_item": sequences.select(range(4))}
    batches = {
        supervision: processor.collator(pad_to_multiple_of=32, supervision=supervision)(list(rows))
        for supervision, rows in examples.items()
    }
    return models, batches


@pytest.mark.parametrize("supervision", ["last", "every_item"])
def test_bf16_path_gives_the_float32_logits_and_loss_within_bf16_tolerance(workspace, supervision):
    models, batches = models_and_batches(*workspace)
    batch = batches[supervision]
    reference = models[torch.float32](**batch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fast = models[torch.bfloat16](**batch)
    assert fast.logits.dtype == torch.float32  # the head scores in float32 under autocast
    scale = reference.logits.abs().max()
    assert (fast.logits - reference.logits).abs().max() <= BF16_LOGIT_TOLERANCE * scale
    assert fast.loss.item() == pytest.approx(reference.loss.item(), rel=0.01)
    fast.loss.backward()
    reference.loss.backward()
    trained = {name: p for name, p in models[torch.bfloat16].named_parameters() if p.requires_grad}
    assert trained and all(p.dtype == torch.float32 and p.grad is not None for p in trained.values())
    frozen = [p for p in models[torch.bfloat16].parameters() if not p.requires_grad]
    assert frozen and all(p.dtype == torch.bfloat16 for p in frozen)


class RecordLayerInputs(TrainerCallback):
    """Records the dtype and shape of what the first decoder layer receives, in training and in validation."""

    def __init__(self):
        self.seen: list[tuple[bool, torch.dtype, tuple[int, ...]]] = []

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        layer = model.get_base_model().layers[0]
        layer.register_forward_pre_hook(lambda module, inputs: self.seen.append((module.training, *facts(inputs[0]))))


def facts(hidden: torch.Tensor) -> tuple[torch.dtype, tuple[int, ...]]:
    return hidden.dtype, tuple(hidden.shape)


def test_bf16_training_runs_the_base_in_bf16_everywhere_and_saves_float32(workspace, tmp_path):
    data_dir, base = workspace
    runs = []
    for name in ("first", "second"):
        args, training_args = tiny_arguments(data_dir, base, tmp_path / name, max_steps=4)
        args.dtype = "bfloat16"
        recorder = RecordLayerInputs()
        result = train(args, training_args, callbacks=[recorder])
        runs.append(load_file(result.model_dir / "model.safetensors"))
    assert {dtype for _, dtype, _ in recorder.seen} == {torch.bfloat16}
    assert {training for training, _, _ in recorder.seen} == {True, False}  # training steps and validation alike
    assert {tensor.dtype for tensor in runs[0].values() if tensor.is_floating_point()} == {torch.float32}
    for key in runs[0]:  # a fixed seed gives the same model
        assert torch.equal(runs[0][key], runs[1][key]), key


def test_token_budget_batches_fit_the_budget_in_a_few_repeated_shapes(workspace, tmp_path):
    data_dir, base = workspace
    args, training_args = tiny_arguments(
        data_dir,
        base,
        tmp_path / "budget",
        max_steps=8,
        eval_strategy="no",
        save_strategy="no",
        load_best_model_at_end=False,
        max_tokens_per_batch=2048,
        pad_to_multiple_of=16,
    )
    args.supervision, args.chunk_items, args.context_items = "every_item", 6, 2
    recorder = RecordLayerInputs()
    train(args, training_args, callbacks=[recorder])
    shapes = [shape for training, _, shape in recorder.seen if training]
    assert len(shapes) == 8
    assert all(rows * length <= 2048 and length % 16 == 0 for rows, length, _ in shapes)
    assert any(rows > training_args.per_device_train_batch_size for rows, _, _ in shapes)  # the budget, not a row count


KILLED_RUN = """
import os, sys
sys.path[:0] = [{tests!r}]
from transformers import TrainerCallback
from iamrec.training import train
from training_fixtures import tiny_arguments

class Kill(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 5:
            os._exit(137)

args, training_args = tiny_arguments({data!r}, {base!r}, {out!r}, max_tokens_per_batch=512, pad_to_multiple_of=16)
args.dtype = "bfloat16"
train(args, training_args, callbacks=[Kill()])
"""


def test_a_killed_fast_run_resumes_to_the_same_model(workspace, tmp_path):
    data_dir, base = workspace
    fast = dict(max_tokens_per_batch=512, pad_to_multiple_of=16)
    args, training_args = tiny_arguments(data_dir, base, tmp_path / "whole", **fast)
    args.dtype = "bfloat16"
    uninterrupted = train(args, training_args)
    script = KILLED_RUN.format(tests=str(TESTS), data=str(data_dir), base=str(base), out=str(tmp_path / "killed"))
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == 137, killed.stderr[-2000:]
    args, training_args = tiny_arguments(data_dir, base, tmp_path / "killed", resume_from_checkpoint="last", **fast)
    args.dtype = "bfloat16"
    resumed = train(args, training_args)
    first, second = (
        load_file(uninterrupted.model_dir / "model.safetensors"),
        load_file(resumed.model_dir / "model.safetensors"),
    )
    for key in first:
        torch.testing.assert_close(first[key], second[key], atol=1e-6, rtol=1e-5)


@pytest.mark.slow  # compiles each batch shape once: about 30 s on 2 CPU cores
def test_compiled_decoder_layers_train_like_eager_ones_and_deterministically(workspace, tmp_path):
    data_dir, base = workspace
    losses, models = {}, {}
    for name, compiled in (("eager", False), ("compiled", True), ("compiled again", True)):
        args, training_args = tiny_arguments(
            data_dir, base, tmp_path / name, max_steps=3, eval_steps=3, save_steps=3, compile_layers=compiled
        )
        args.dtype = "bfloat16"
        result = train(args, training_args)
        losses[name] = [entry["loss"] for entry in result.log_history if "loss" in entry]
        losses[name].append(next(e["eval_loss"] for e in result.log_history if "eval_loss" in e))
        models[name] = load_file(result.model_dir / "model.safetensors")
    assert losses["compiled"] == pytest.approx(losses["eager"], rel=0.01)  # the same steps, fused differently
    for key in models["compiled"]:
        assert torch.equal(models["compiled"][key], models["compiled again"][key]), key
