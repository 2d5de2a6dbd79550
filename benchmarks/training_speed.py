"""Training speed of `iamrec train`'s step on every_item sequences, from the float32 path to the fast default, each
speed-up its own model in one process with their steps interleaved (a machine that slows down slows every variant
alike): supervised targets and real tokens per second, and the ratio to `fp32`.

    python benchmarks/training_speed.py --data-dir runs/ml-100k --steps 20
    python benchmarks/training_speed.py --data-dir runs/ml-100k --variants fp32 fast fast_compile

Variants: `fp32`, the CPU path before the fast one (float32, LoRA dropout 0.05, 16 rows per batch); `autocast`, the GPU
path before it (float32 weights under bf16 autocast); `bf16`, the frozen base held in bf16 under bf16 autocast;
`dropout0`, and LoRA dropout 0; `fast`, and batches by a token budget in 32-token length buckets (the default of
`iamrec demo` and the study); `fast_compile`, and every decoder layer compiled with torch.compile (inductor).
Warm-up steps run one variant at a time (compilation included, timed and reported; a variant that fails is recorded as
such), with each step's peak memory above the models'; then the timed steps, interleaved. `--profile` adds one profiled
step per variant (device busy time against the step's wall time, the top operators); `--peak-tflops` adds MFU from
the assumed FLOPs per token. Writes benchmarks/results/training_speed_<device>.json (or --output).
"""

import argparse
import ctypes
import os
import random
import resource
import statistics
import time
from typing import NamedTuple

import torch
from environment import RESULTS, command_line, environment, public_path, write_result
from supervision_throughput import timed_step
from transformers import AutoTokenizer, set_seed

from iamrec import IAMRecArguments, IAMRecProcessor, MostPopular, load_prepared
from iamrec.data.sequences import ChunkSpec, every_item_sequences
from iamrec.pretrained import resolve_base_model
from iamrec.training import build_model
from iamrec.training.batching import TokenBudgetBatchSampler


class Variant(NamedTuple):
    dtype: torch.dtype  # of the frozen base
    autocast: bool
    lora_dropout: float
    token_budget: bool
    compiled: bool
    description: str


VARIANTS = {
    "fp32": Variant(torch.float32, False, 0.05, False, False, "float32, LoRA dropout 0.05, fixed rows per batch"),
    "autocast": Variant(torch.float32, True, 0.05, False, False, "float32 weights under bf16 autocast (GPUs before)"),
    "bf16": Variant(torch.bfloat16, True, 0.05, False, False, "frozen base in bf16 under bf16 autocast"),
    "dropout0": Variant(torch.bfloat16, True, 0.0, False, False, "bf16, LoRA dropout 0"),
    "fast": Variant(torch.bfloat16, True, 0.0, True, False, "bf16, dropout 0, token-budget batches (the default)"),
    "fast_compile": Variant(torch.bfloat16, True, 0.0, True, True, "the default, decoder layers torch.compile'd"),
}


def flops_per_token(model, mean_length: float) -> float:
    """Assumed FLOPs of one trained token: 4 per weight of the decoder's linear layers (a forward, and the backward to
    the activations; the frozen weights get no gradient and the LoRA ones are negligible) and 12 x layers x
    attention width x mean row length for the attention products (forward and backward)."""
    base = model.get_base_model()
    weights = sum(
        module.weight.numel()
        for name, module in base.layers.named_modules()
        if isinstance(module, torch.nn.Linear) and "lora" not in name
    )
    config = base.config
    attention_width = config.num_attention_heads * (config.hidden_size // config.num_attention_heads)
    return 4 * weights + 12 * config.num_hidden_layers * attention_width * mean_length


def step_memory_mb(run_steps, device: str) -> float:
    """Peak memory of `run_steps()` above what was held before: CUDA's allocator peak, or on a CPU the process's peak
    resident set (VmHWM, reset through /proc/self/clear_refs) above its resident set before."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        run_steps()
        return (torch.cuda.max_memory_allocated() - before) / 2**20
    status = lambda key: int(next(line for line in open("/proc/self/status") if line.startswith(key)).split()[1])  # noqa: E731
    ctypes.CDLL("libc.so.6").malloc_trim(
        0
    )  # hand back what earlier variants freed, or their steps' peak hides this one
    before = status("VmRSS:")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    run_steps()
    return (status("VmHWM:") - before) / 1024


def profile_step(model, optimizer, batch: dict, device: str, autocast: bool) -> dict:
    """One step under torch.profiler: its wall time, the device's busy time (kernels) and the top operators."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else [])
    with profile(activities=activities) as profiler:
        wall = timed_step(model, optimizer, batch, device, autocast)
    events = profiler.key_averages()
    on_device = device.startswith("cuda")
    key = "self_device_time_total" if on_device else "self_cpu_time_total"
    top = sorted(events, key=lambda event: getattr(event, key), reverse=True)[:12]
    busy = sum(event.self_device_time_total for event in events) / 1e6 if on_device else None
    return {
        "step_seconds_profiled": wall,
        "device_busy_seconds": busy,
        "device_busy_fraction": busy / wall if busy is not None else None,
        "operator_launches": sum(event.count for event in events if event.key.startswith("aten::")),
        "top_operators": {event.key: round(getattr(event, key) / 1e6, 4) for event in top},
    }


class Setup(NamedTuple):
    base: str
    processor: IAMRecProcessor
    collator: object
    popular: MostPopular
    sequences: object
    lengths: list[int]


def every_item_setup(data_dir: str, layers: int, chunking: str = "20:10") -> Setup:
    """SmolLM2-135M cut to `layers` layers, its processor and collator (batches padded to 32-token multiples), the
    training split's popularity, and its every_item sequences at `CHUNK:CONTEXT` with their token lengths."""
    data = load_prepared(data_dir)
    base = resolve_base_model("smollm2-135m", layers)
    processor = IAMRecProcessor(AutoTokenizer.from_pretrained(base), data.titles)
    collator = processor.collator(pad_to_multiple_of=32, supervision="every_item")
    popular = MostPopular(len(data.titles)).fit({"target": t} for t in data.splits["train"]["target"])
    chunk, context = (int(part) for part in chunking.split(":"))
    cold = data.protocol.get("cold_items") or []
    sequences = every_item_sequences(data.splits["train"], ChunkSpec(chunk, context), cold)
    return Setup(
        base,
        processor,
        collator,
        popular,
        sequences,
        collator.prompt_lengths(sequences["history"], sequences["next_items"]),
    )


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
    parser.add_argument("--peak-tflops", type=float, help="The device's dense bf16 peak, for MFU (H100/H200: 989).")
    parser.add_argument("--profile", action="store_true", help="Profile one more step of each variant.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output")
    args = parser.parse_args()

    base, processor, collator, popular, sequences, lengths = every_item_setup(args.data_dir, args.layers, args.chunking)
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
        optimizer = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=1e-3, fused=True)
        runs[name] = (model, optimizer, collated[how.token_budget], how.autocast)

    # Warm-up, one variant at a time (compilation, allocator growth), with each step's memory above the models'.
    results, warmup_seconds, memory = {}, {}, {}
    for name, (model, optimizer, batches, autocast) in list(runs.items()):
        started = time.perf_counter()
        try:
            memory[name] = step_memory_mb(
                lambda: [
                    timed_step(model, optimizer, batch, args.device, autocast) for batch in batches[: args.warmup]
                ],
                args.device,
            )
        except Exception as error:  # a speed-up that fails here is a result; the other variants go on
            results[name] = {"error": f"{type(error).__name__}: {error}"[:500]}
            del runs[name]
        warmup_seconds[name] = time.perf_counter() - started
        print(f"warm-up {name}: {warmup_seconds[name]:.1f} s", flush=True)
    # Timed steps interleaved: step i of every variant, then step i + 1.
    seconds = {name: [] for name in runs}
    for step in range(args.warmup, count):
        for name, (model, optimizer, batches, autocast) in runs.items():
            seconds[name].append(timed_step(model, optimizer, batches[step], args.device, autocast))
        print(f"step {step + 1 - args.warmup}/{args.steps}", flush=True)
    for name, (model, optimizer, batches, autocast) in runs.items():
        timed = batches[args.warmup :]
        step = statistics.median(seconds[name])
        tokens = statistics.mean(int(batch["attention_mask"].sum()) for batch in timed)
        padded = statistics.mean(batch["attention_mask"].numel() for batch in timed)
        targets = statistics.mean(len(batch["labels"]) for batch in timed)
        flops = flops_per_token(model, padded / len(timed[0]["attention_mask"]))
        results[name] = {
            "description": VARIANTS[name].description,
            "seconds_per_step": step,
            "targets_per_step": targets,
            "tokens_per_step": tokens,
            "padded_tokens_per_step": padded,
            "targets_per_second": targets / step,
            "tokens_per_second": tokens / step,
            "warmup_seconds": warmup_seconds[name],
            "step_memory_mb": memory[name],
            "flops_per_token_assumed": flops,
            "tflops_per_second": flops * tokens / step / 1e12,
        }
        if args.peak_tflops:
            results[name]["mfu"] = results[name]["tflops_per_second"] / args.peak_tflops
        if args.profile:
            results[name]["profile"] = profile_step(model, optimizer, batches[-1], args.device, autocast)
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
            "note": f"SmolLM2-135M-Instruct (de-quantized Q4_1) cut to {args.layers} layers, HatLLM schedule, LoRA r=8 "
            "on every projection, the standardised head fully trained, fused AdamW lr 1e-3 (the Trainer's default), "
            "every_item sequences; median step time, the device synchronised at both ends of a step",
            "results": results,
            "peak_rss_mb_of_the_process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_device_memory_mb": torch.cuda.max_memory_allocated() / 2**20
            if args.device.startswith("cuda")
            else None,
            "load_average_1_5_15_min": list(os.getloadavg()),  # other work on the machine slows every variant
        },
        output,
    )
    print(f"Wrote {output}")


if __name__ == "__main__":
    main()
