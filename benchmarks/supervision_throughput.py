"""Training throughput of the two supervision formats, in one process on the same model: tokens per supervised target
and supervised targets per second of `iamrec train`'s own step (LoRA, the standardised head, AdamW), `last` as the
baseline and `every_item` at each chunking given, their steps interleaved.

    python benchmarks/supervision_throughput.py --data-dir runs/ml-100k --steps 20
    python benchmarks/supervision_throughput.py --data-dir runs/ml-100k --device cuda --layers 30 --batch-size 32
    python benchmarks/supervision_throughput.py ... --device cuda --variants autocast bf16 bf16_flex

`--variants` are speed-ups of every_item, each its own model in the same interleaved loop; `last` runs under the first
one, the reference of every ratio. `autocast` (the Trainer's `--bf16`) keeps fp32 weights and casts per operation;
`bf16` holds the weights, LoRA adapters and optimizer state in bf16. Writes
benchmarks/results/supervision_throughput_<device>.json (or --output).
"""

import argparse
import os
import random
import statistics
import time
from pathlib import Path
from typing import NamedTuple

import torch
from environment import RESULTS, command_line, environment, write_result
from transformers import AutoTokenizer, set_seed

from iamrec import IAMRecArguments, IAMRecProcessor, MostPopular, load_prepared
from iamrec.data.sequences import ChunkSpec, every_item_sequences
from iamrec.pretrained import resolve_base_model
from iamrec.training import build_model


class Variant(NamedTuple):
    """How one run trains: its weights' dtype, bf16 autocast or not, torch.compile or not, its attention."""

    dtype: torch.dtype
    autocast: bool
    compiled: bool
    attention: str
    description: str


VARIANTS = {
    "fp32": Variant(torch.float32, False, False, "sdpa", "fp32"),
    "autocast": Variant(torch.float32, True, False, "sdpa", "fp32 weights under bf16 autocast"),
    "bf16": Variant(torch.bfloat16, False, False, "sdpa", "bf16 weights, adapters and optimizer state"),
    "bf16_compile": Variant(torch.bfloat16, False, True, "sdpa", "bf16 weights, torch.compile"),
    "bf16_flex": Variant(torch.bfloat16, False, False, "flex_attention", "bf16 weights, flex attention (a BlockMask)"),
}


def formats(chunkings: list[str]) -> dict[str, ChunkSpec | None]:
    """`last`, then every_item at each `CHUNK:CONTEXT`."""
    specs = {"last": None}
    for chunking in chunkings:
        chunk, context = (int(part) for part in chunking.split(":"))
        specs[f"every_item {chunk}:{context}"] = ChunkSpec(chunk, context)
    return specs


def batches(examples, collator, batch_size: int, count: int, seed: int) -> list[dict]:
    """`count` random batches, collated up front so that the timing holds only the training step."""
    rng = random.Random(seed)
    rows = list(range(len(examples)))
    rng.shuffle(rows)
    chosen = [examples.select(rows[start : start + batch_size]) for start in range(0, batch_size * count, batch_size)]
    return [collator([dict(example) for example in batch]) for batch in chosen]


def timed_step(model, optimizer, batch: dict, device: str, autocast: bool) -> float:
    """Seconds of one forward, backward and optimizer step, the device synchronised at both ends."""
    batch = {key: value.to(device) for key, value in batch.items()}
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=autocast):
        loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - started


def summary(batches: list[dict], seconds: list[float]) -> dict:
    """Median seconds per step, and tokens and targets per step over the batches."""
    tokens = statistics.mean(int(batch["attention_mask"].sum()) for batch in batches)
    targets = statistics.mean(len(batch["labels"]) for batch in batches)
    step = statistics.median(seconds)
    return {
        "seconds_per_step": step,
        "tokens_per_step": tokens,
        "targets_per_step": targets,
        "tokens_per_target": tokens / targets,
        "targets_per_second": targets / step,
        "tokens_per_second": tokens / step,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--base-model", default="smollm2-135m")
    parser.add_argument("--layers", type=int, default=3, help="Layers of the smollm2-135m alias (all: 30).")
    parser.add_argument("--chunkings", nargs="+", default=["20:10", "10:0", "30:10", "50:10"])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20, help="Timed steps per format (after the warm-up ones).")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), help="default: autocast on CUDA, else fp32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    args.variants = args.variants or ["autocast" if args.device.startswith("cuda") else "fp32"]

    data = load_prepared(args.data_dir)
    layers = args.layers if args.base_model == "smollm2-135m" else None
    base = resolve_base_model(args.base_model, layers)
    processor = IAMRecProcessor(AutoTokenizer.from_pretrained(base), data.titles)
    popular = MostPopular(len(data.titles)).fit({"target": t} for t in data.splits["train"]["target"])
    train = data.splits["train"]
    model_args = IAMRecArguments(data_dir=args.data_dir, rec_head_norm="batch", num_intra=1, num_inter_last=1)
    runs = {}
    for name, spec in formats(args.chunkings).items():
        examples = train if spec is None else every_item_sequences(train, spec, data.protocol.get("cold_items") or [])
        collator = processor.collator(supervision="last" if spec is None else "every_item")
        prepared = batches(examples, collator, args.batch_size, args.steps + args.warmup, args.seed)
        for variant in args.variants[:1] if spec is None else args.variants:
            how = VARIANTS[variant]
            set_seed(args.seed)
            model = build_model(model_args, base, processor, popular)
            model.get_base_model().set_attn_implementation(how.attention)
            model = model.to(args.device, how.dtype).train()
            optimizer = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=1e-3)
            key = name if variant == args.variants[0] else f"{name} {variant}"
            model = torch.compile(model) if how.compiled else model
            runs[key] = (model, optimizer, prepared, len(examples), how.autocast)
    # Interleaved: step i of every run, then step i + 1, so a machine that slows down slows every run alike.
    seconds, results = {name: [] for name in runs}, {}
    for step in range(args.steps + args.warmup):
        for name, (model, optimizer, prepared, _, autocast) in list(runs.items()):
            try:
                elapsed = timed_step(model, optimizer, prepared[step], args.device, autocast)
            except Exception as error:  # a speed-up that cannot run here is a result; the other runs go on
                results[name] = {"error": f"{type(error).__name__}: {error}"[:500]}
                del runs[name]
                continue
            if step >= args.warmup:
                seconds[name].append(elapsed)
    for name, (_, _, prepared, examples, _) in runs.items():
        results[name] = {**summary(prepared, seconds[name]), "training_examples": examples}
        print(name, {key: round(value, 3) for key, value in results[name].items()}, flush=True)
    baseline = results["last"]
    for result in (result for result in results.values() if "error" not in result):
        result["targets_per_second_vs_last"] = result["targets_per_second"] / baseline["targets_per_second"]
        result["tokens_per_target_vs_last"] = result["tokens_per_target"] / baseline["tokens_per_target"]
    device = "cuda" if args.device.startswith("cuda") else "cpu"
    output = args.output or RESULTS / f"supervision_throughput_{device}.json"
    write_result(
        {
            "environment": environment(args.device),
            "command": command_line(),
            "settings": {key: str(value) for key, value in vars(args).items() if key != "output"},
            "note": "LoRA r=8 on every projection, the standardised head fully trained, AdamW lr 1e-3; `last` and "
            f"unnamed rows under {args.variants[0]} ("
            + "; ".join(f"{name}: {VARIANTS[name].description}" for name in args.variants)
            + ")",
            "results": results,
            "load_average_1_5_15_min": list(os.getloadavg()),  # other work on the machine slows both formats
        },
        output,
    )
    print(f"Wrote {output}")


if __name__ == "__main__":
    main()
