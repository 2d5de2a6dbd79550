"""Forward+backward time and peak memory of each attention schedule, as ratios to an unmodified LlamaModel.

Every configuration runs on the same batch with the same weights (SmolLM2-135M layer shapes, fewer layers) in one
process, interleaved, so the ratios are comparable; peak memory is measured per configuration in a fresh child
process (peak RSS growth during one step). Writes benchmarks/results/attention_<device>.json and prints a table.

    python benchmarks/bench_attention.py                 # CPU, sdpa, lengths 256 512 1024
    python benchmarks/bench_attention.py --device cuda --implementations sdpa flex_attention
"""

import argparse
import ctypes
import gc
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from environment import command_line, environment, write_result
from torch import nn
from transformers import LlamaConfig, LlamaModel

from iamrec import IAMRecConfig, IAMRecForSequentialRecommendation, make_schedule

RESULTS = Path(__file__).parent / "results"
SHAPE = dict(vocab_size=2048, hidden_size=576, intermediate_size=1536, num_attention_heads=9, num_key_value_heads=3)
SCHEDULES = {"full": {}, "hatllm": {"num_intra": 1, "num_inter_last": 1}, "iam": {}}
NUM_ITEMS = 1682


class PlainLlamaRecommender(nn.Module):
    """The baseline: an unmodified LlamaModel and the same linear head on the last token."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.model = LlamaModel(config)
        self.head = nn.Linear(config.hidden_size, NUM_ITEMS)

    def forward(self, input_ids, attention_mask, item_index, labels):
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return nn.functional.cross_entropy(self.head(hidden[:, -1]), labels)


def build(name: str, num_layers: int, implementation: str, device: str) -> nn.Module:
    torch.manual_seed(0)
    if name == "llama":
        config = LlamaConfig(num_hidden_layers=num_layers, **SHAPE)
        config._attn_implementation = implementation
        return PlainLlamaRecommender(config).to(device)
    modes = make_schedule(name, num_layers, **SCHEDULES[name])
    config = IAMRecConfig(num_hidden_layers=num_layers, item_mask_modes=modes, num_items=NUM_ITEMS, **SHAPE)
    model = IAMRecForSequentialRecommendation(config)
    model.set_attn_implementation(implementation)
    return model.to(device)


def make_batch(batch_size: int, length: int, device: str) -> dict[str, torch.Tensor]:
    """Ten-token items separated by one prompt token, after a 20-token instruction (no padding: the rows are full)."""
    generator = torch.Generator().manual_seed(0)
    position = torch.arange(length)
    item_index = torch.where((position >= 20) & ((position - 20) % 11 != 10), (position - 20) // 11, -1)
    return {
        "input_ids": torch.randint(0, SHAPE["vocab_size"], (batch_size, length), generator=generator).to(device),
        "attention_mask": torch.ones(batch_size, length, dtype=torch.long, device=device),
        "item_index": item_index.expand(batch_size, -1).contiguous().to(device),
        "labels": torch.randint(0, NUM_ITEMS, (batch_size,), generator=generator).to(device),
    }


def step(model: nn.Module, batch: dict[str, torch.Tensor]) -> None:
    out = model(**batch)
    loss = out if isinstance(out, torch.Tensor) else out.loss
    loss.backward()
    model.zero_grad(set_to_none=True)


def timed_step(model: nn.Module, batch: dict[str, torch.Tensor], device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    step(model, batch)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def rss_mb(field: str) -> float:
    """A Linux /proc/self/status memory field (VmRSS, VmHWM) in MiB."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1)) / 1024


def measure_step_memory(
    name: str, layers: int, implementation: str, device: str, batch_size: int, length: int
) -> float:
    """Peak memory growth of one training step after a warm-up step (CPU: resident set; CUDA: the allocator)."""
    model, batch = build(name, layers, implementation, device), make_batch(batch_size, length, device)
    step(model, batch)
    gc.collect()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated() / 2**20
        step(model, batch)
        return torch.cuda.max_memory_allocated() / 2**20 - base
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak-RSS mark (VmHWM) to the current RSS
    base = rss_mb("VmRSS")
    step(model, batch)
    return rss_mb("VmHWM") - base


def peak_memory_mb(name: str, args: argparse.Namespace, implementation: str, length: int) -> float:
    """Runs `measure_step_memory` in a fresh process, so configurations do not share allocator state."""
    call = (name, args.layers, implementation, args.device, args.batch_size, length)
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_attention as b; "
        f"print(b.measure_step_memory(*{call!r}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--implementations", nargs="+", default=["sdpa"])
    parser.add_argument("--lengths", nargs="+", type=int, default=[256, 512, 1024])
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    names = ["llama", *SCHEDULES]
    rows = []
    for implementation in args.implementations:
        models = {name: build(name, args.layers, implementation, args.device) for name in names}
        for length in args.lengths:
            batch = make_batch(args.batch_size, length, args.device)
            times = {name: [] for name in names}
            for name in names:  # warm-up
                step(models[name], batch)
            for _ in range(args.repeats):  # interleaved, so machine noise hits every configuration alike
                for name in names:
                    times[name].append(timed_step(models[name], batch, args.device))
            memory = {name: peak_memory_mb(name, args, implementation, length) for name in names}
            base_time, base_memory = statistics.median(times["llama"]), memory["llama"]
            for name in names:
                median = statistics.median(times[name])
                rows.append(
                    {
                        "implementation": implementation,
                        "length": length,
                        "schedule": name,
                        "step_s": round(median, 4),
                        "time_ratio": round(median / base_time, 3),
                        "peak_mb": round(memory[name], 1),
                        "memory_ratio": round(memory[name] / base_memory, 3),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)

    report = {
        "environment": environment(args.device),
        "command": command_line(),
        "device": args.device,
        "threads": args.threads,
        "batch_size": args.batch_size,
        "layers": args.layers,
        "repeats": args.repeats,
        "shape": SHAPE,
        "rows": rows,
    }
    out = write_result(report, RESULTS / f"attention_{args.device}.json")
    print(
        "\n| impl | length | schedule | step (s) | time vs Llama | peak MB | memory vs Llama |"
        "\n|---|---|---|---|---|---|---|"
    )
    for row in rows:
        print(
            f"| {row['implementation']} | {row['length']} | {row['schedule']} | {row['step_s']} | "
            f"{row['time_ratio']}x | {row['peak_mb']} | {row['memory_ratio']}x |"
        )
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
