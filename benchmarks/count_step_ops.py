"""Operator calls in one training step of the `iamrec train` model against the synthetic plain Llama of
`bench_attention.py`: on a GPU each call is at least one kernel launch plus Python dispatch, so at small batches the
step time follows this count rather than the FLOPs (the GPU check measured about 0.37 s of fixed cost per step).

Counted on CPU with torch.profiler: the top-level `aten::` calls of one forward (bf16 autocast, as the Trainer runs
it), backward, gradient clipping and AdamW step, after one warm-up step. Weights are random (counts do not depend on
them); the model has SmolLM2-135M's shapes and the HatLLM schedule, with LoRA as `iamrec train` sets it up.

    python benchmarks/count_step_ops.py --data-dir runs/ml-100k
"""

import argparse
import collections
import json
import sys
import tempfile
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

sys.path.insert(0, str(Path(__file__).parent))
import bench_attention  # noqa: E402  (the synthetic plain Llama and its batches)
from environment import command_line, environment, write_result  # noqa: E402

from iamrec import IAMRecArguments, IAMRecProcessor, MostPopular, load_prepared  # noqa: E402
from iamrec.pretrained import resolve_base_model  # noqa: E402
from iamrec.training import build_model  # noqa: E402


def top_level_calls(step) -> collections.Counter:
    """`aten::` calls of one `step()` that no other `aten::` call made (what a GPU run would launch)."""
    step()  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        step()
    return collections.Counter(
        event.name
        for event in profiler.events()
        if event.name.startswith("aten::")
        and (event.cpu_parent is None or not event.cpu_parent.name.startswith("aten::"))
    )


def random_base_model(layers: int, work: Path) -> Path:
    """SmolLM2-135M's config (with `layers` layers) and tokenizer, random weights: counts do not depend on them."""
    source = resolve_base_model("smollm2-135m", 1)
    shape = AutoConfig.from_pretrained(source)
    shape.num_hidden_layers = layers
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(shape).save_pretrained(work / "base")
    AutoTokenizer.from_pretrained(source).save_pretrained(work / "base")
    return work / "base"


def iamrec_step(args: argparse.Namespace, base: Path, lora_dropout: float):
    """One `iamrec train` step (model, LoRA and head as `train()` builds them) on the first examples of the data."""
    data = load_prepared(args.data_dir)
    processor = IAMRecProcessor(AutoTokenizer.from_pretrained(base), data.titles, max_length=512)
    popular = MostPopular(len(data.titles)).fit({"target": target} for target in data.splits["train"]["target"])
    model_args = IAMRecArguments(
        data_dir=args.data_dir, base_model=str(base), rec_head_norm="batch", lora_dropout=lora_dropout
    )
    model = build_model(model_args, str(base), processor, popular).train()
    batch = processor.collator()([data.splits["train"][row] for row in range(args.batch_size)])
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=1e-3, foreach=True)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        optimizer.zero_grad()

    return step, batch["input_ids"].shape[1], len(parameters)


def llama_step(args: argparse.Namespace, length: int):
    """One step of the synthetic plain Llama (all weights trained, bf16, no padding) at the same batch and length."""
    model = bench_attention.build("llama", args.layers, "sdpa", "cpu").to(torch.bfloat16)
    batch = bench_attention.make_batch(args.batch_size, length, "cpu")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, foreach=True)

    def step():
        output = model(**batch)
        (output if isinstance(output, torch.Tensor) else output.loss).backward()
        optimizer.step()
        optimizer.zero_grad()

    return step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="a prepared dataset (iamrec prepare)")
    parser.add_argument("--layers", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=4, help="the count does not depend on it")
    parser.add_argument("--output", default="benchmarks/results/step_ops_cpu.json")
    args = parser.parse_args(argv)
    results = {
        "environment": environment(),
        "command": command_line(),
        "layers": args.layers,
        "batch_size": args.batch_size,
        "top_level_aten_calls": {},
        "most_common": {},
    }
    with tempfile.TemporaryDirectory() as work:
        base = random_base_model(args.layers, Path(work))
        for name, lora_dropout in (("iamrec_train", 0.05), ("iamrec_train_lora_dropout_0", 0.0)):
            step, length, trainable = iamrec_step(args, base, lora_dropout)
            calls = top_level_calls(step)
            results["top_level_aten_calls"][name] = sum(calls.values())
            results["most_common"][name] = dict(calls.most_common(8))
            results.update(length=length, trainable_tensors=trainable)
    calls = top_level_calls(llama_step(args, results["length"]))
    results["top_level_aten_calls"]["synthetic_llama"] = sum(calls.values())
    results["most_common"]["synthetic_llama"] = dict(calls.most_common(8))
    write_result(results, args.output)
    print(json.dumps(results["top_level_aten_calls"], indent=2))


if __name__ == "__main__":
    main()
