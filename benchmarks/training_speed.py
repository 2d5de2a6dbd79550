"""Training speed of `iamrec train`'s step on every_item sequences, from the float32 path to the fast default, each
speed-up its own model in one process with their steps interleaved (a machine that slows down slows every variant
alike): supervised targets and real tokens per second, and the ratio to `fp32`.

    python benchmarks/training_speed.py --data-dir runs/ml-100k --steps 20
    python benchmarks/training_speed.py --data-dir runs/ml-100k --variants fp32 fast fast_compile

Variants (each keeps the ones before it): `fp32`, the path before the fast one (float32, LoRA dropout 0.05, 16 rows
per batch); `bf16`, the frozen base held in bf16 under bf16 autocast; `dropout0`, LoRA dropout 0; `fast`, batches by
a token budget in 32-token length buckets (the default of `iamrec demo` and the study); `fast_compile`, every decoder
layer compiled with torch.compile (inductor), its warm-up timed apart. Writes benchmarks/results/training_speed_cpu.json
(or --output).
"""

import argparse
import os
import random
import resource
import statistics
from typing import NamedTuple

import torch
from environment import RESULTS, command_line, environment, public_path, write_result
from supervision_throughput import timed_step
from transformers import AutoTokenizer, set_seed

from iamrec.baselines import MostPopular
from iamrec.data import load_prepared
from iamrec.data.sequences import ChunkSpec, every_item_sequences
from iamrec.pretrained import resolve_base_model
from iamrec.tokenization import IAMRecProcessor
from iamrec.training import IAMRecArguments, build_model
from iamrec.training.batching import TokenBudgetBatchSampler


class Variant(NamedTuple):
    dtype: torch.dtype
    lora_dropout: float
    token_budget: bool
    compiled: bool
    description: str


VARIANTS = {
    "fp32": Variant(torch.float32, 0.05, False, False, "float32, LoRA dropout 0.05, 16 rows per batch"),
    "bf16": Variant(torch.bfloat16, 0.05, False, False, "frozen base in bf16 under bf16 autocast"),
    "dropout0": Variant(torch.bfloat16, 0.0, False, False, "bf16, LoRA dropout 0"),
    "fast": Variant(torch.bfloat16, 0.0, True, False, "bf16, dropout 0, token-budget batches (the default)"),
    "fast_compile": Variant(torch.bfloat16, 0.0, True, True, "the default, decoder layers torch.compile'd"),
}


def fixed_batches(count: int, batch_size: int, rows: int, seed: int) -> list[list[int]]:
    order = list(range(rows))
    random.Random(seed).shuffle(order)
    return [order[start : start + batch_size] for start in range(0, count * batch_size, batch_size)]


def budget_batches(count: int, lengths: list[int], max_tokens: int, seed: int) -> list[list[int]]:
    sampler = TokenBudgetBatchSampler(lengths, max_tokens, 32, seed=seed)
    return [batch for batch, _ in zip(sampler, range(count))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--layers", type=int, default=3, help="Layers of SmolLM2-135M kept (all: 30).")
    parser.add_argument("--chunking", default="20:10", help="every_item CHUNK:CONTEXT items per sequence.")
    parser.add_argument("--batch-size", type=int, default=16, help="Rows per batch without a token budget.")
    parser.add_argument("--max-tokens", type=int, default=4096, help="The token budget of the budgeted variants.")
    parser.add_argument("--steps", type=int, default=20, help="Timed steps per variant (after the warm-up ones).")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["fp32", "bf16", "dropout0", "fast"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output")
    args = parser.parse_args()

    data = load_prepared(args.data_dir)
    base = resolve_base_model("smollm2-135m", args.layers)
    processor = IAMRecProcessor(AutoTokenizer.from_pretrained(base), data.titles)
    collator = processor.collator(pad_to_multiple_of=32)
    popular = MostPopular(len(data.titles)).fit({"target": t} for t in data.splits["train"]["target"])
    chunk, context = (int(part) for part in args.chunking.split(":"))
    sequences = every_item_sequences(
        data.splits["train"], ChunkSpec(chunk, context), data.protocol.get("cold_items") or []
    )
    lengths = collator.prompt_lengths(sequences["history"], sequences["next_items"])
    count = args.steps + args.warmup
    plans = {
        False: fixed_batches(count, args.batch_size, len(sequences), args.seed),
        True: budget_batches(count, lengths, args.max_tokens, args.seed),
    }
    collated = {budget: [collator([sequences[row] for row in rows]) for rows in plan] for budget, plan in plans.items()}

    runs, warmup_seconds = {}, {}
    for name in args.variants:
        how = VARIANTS[name]
        set_seed(args.seed)
        model_args = IAMRecArguments(
            data_dir=args.data_dir, rec_head_norm="batch", num_intra=1, num_inter_last=1, lora_dropout=how.lora_dropout
        )
        model = build_model(model_args, base, processor, popular, how.dtype).to(args.device).train()
        if how.compiled:
            for layer in model.get_base_model().layers:
                layer.compile()
        optimizer = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=1e-3)
        runs[name] = (model, optimizer, collated[how.token_budget], how.dtype == torch.bfloat16)
        warmup_seconds[name] = 0.0

    seconds, results = {name: [] for name in runs}, {}
    for step in range(count):
        for name, (model, optimizer, batches, autocast) in list(runs.items()):
            try:
                elapsed = timed_step(model, optimizer, batches[step], args.device, autocast)
            except Exception as error:  # a speed-up that fails here is a result; the other variants go on
                results[name] = {"error": f"{type(error).__name__}: {error}"[:500]}
                del runs[name]
                continue
            if step < args.warmup:
                warmup_seconds[name] += elapsed
            else:
                seconds[name].append(elapsed)
        print(f"step {step + 1}/{count}", flush=True)
    for name, (_, _, batches, _) in runs.items():
        timed = batches[args.warmup :]
        step = statistics.median(seconds[name])
        tokens = statistics.mean(int(batch["attention_mask"].sum()) for batch in timed)
        padded = statistics.mean(batch["attention_mask"].numel() for batch in timed)
        targets = statistics.mean(len(batch["labels"]) for batch in timed)
        results[name] = {
            "description": VARIANTS[name].description,
            "seconds_per_step": step,
            "targets_per_step": targets,
            "tokens_per_step": tokens,
            "padded_tokens_per_step": padded,
            "targets_per_second": targets / step,
            "tokens_per_second": tokens / step,
            "warmup_seconds": warmup_seconds[name],
        }
    reference = results.get(args.variants[0], {})
    for result in results.values():
        if "error" not in result and "targets_per_second" in reference:
            result["targets_per_second_vs_" + args.variants[0]] = (
                result["targets_per_second"] / reference["targets_per_second"]
            )
        print({key: round(value, 3) if isinstance(value, float) else value for key, value in result.items()})
    output = args.output or RESULTS / f"training_speed_{'cuda' if args.device.startswith('cuda') else 'cpu'}.json"
    settings = {key: str(value) for key, value in vars(args).items() if key != "output"}
    settings["data_dir"] = public_path(args.data_dir)
    write_result(
        {
            "environment": environment(args.device),
            "command": command_line(),
            "settings": settings,
            "note": "3-layer SmolLM2-135M-Instruct (de-quantized Q4_1), HatLLM schedule, LoRA r=8 on every projection, "
            "the standardised head fully trained, AdamW lr 1e-3, every_item sequences; median step time, the "
            "device synchronised at both ends of a step",
            "results": results,
            "peak_rss_mb_of_the_process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "load_average_1_5_15_min": list(os.getloadavg()),  # other work on the machine slows every variant
        },
        output,
    )
    print(f"Wrote {output}")


if __name__ == "__main__":
    main()
