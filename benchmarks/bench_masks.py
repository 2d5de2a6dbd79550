"""Mask-build time and peak memory of the item-aware masks at long sequences: the mask functions against a dense rule
tensor, for the sdpa (dense boolean mask) and flex_attention (BlockMask) backends.

The baseline (`dense_rule` below) builds a dense (batch x queries x keys) boolean rule tensor per mode, which the mask
function then looks up. The model's masks are functions of `item_index[b, q]` and `item_index[b, kv]`
(`iamrec.modeling_iamrec.item_mask_function`), so flex attention can build its BlockMask without any T x T tensor.
Both run through transformers' `create_causal_mask`, as the model calls it.

Times are medians of interleaved repeats after a warm-up build (flex compiles its block-mask kernel then), all in one
process; peak memory is the growth of the peak resident set (CPU) or of the allocator's peak (CUDA) during one build.
Writes benchmarks/results/masks_<device>.json.

    python benchmarks/bench_masks.py                          # CPU, T = 1k, 4k, 16k
    python benchmarks/bench_masks.py --device cuda
"""

import argparse
import ctypes
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from transformers.masking_utils import create_causal_mask

sys.path.insert(0, str(Path(__file__).parent))
from bench_attention import rss_mb  # noqa: E402
from environment import command_line, environment, write_result  # noqa: E402

from iamrec import IAMRecConfig  # noqa: E402
from iamrec.modeling_iamrec import MASK_CACHE_KEYWORD, item_mask_function, last_item_tokens  # noqa: E402

RESULTS = Path(__file__).parent / "results"
MODES = ("intra", "inter_last")
APPROACHES = ("dense_rule", "mask_function")
BACKENDS = ("sdpa", "flex_attention")


def dense_rule(mode: str, item_index: torch.LongTensor) -> Callable:
    """The replaced code: a (batch, T, T) rule tensor per mode, read by the mask function."""
    query_index, key_index = item_index[:, :, None], item_index[:, None, :]
    either_prompt = (query_index < 0) | (key_index < 0)
    positions = torch.arange(item_index.shape[1], device=item_index.device)
    itself = positions[:, None] == positions[None, :]
    if mode == "intra":
        allowed = query_index == key_index
    else:  # inter_last
        is_last = last_item_tokens(item_index)
        allowed = (is_last[:, :, None] & is_last[:, None, :]) | itself
    allowed = either_prompt | allowed

    def mask_function(batch_idx, head_idx, q_idx, kv_idx):
        return allowed[batch_idx, q_idx, kv_idx]

    return mask_function


BUILDERS = {"dense_rule": dense_rule, "mask_function": item_mask_function}


def inputs(length: int, device: str) -> dict[str, torch.Tensor]:
    """One row: a 20-token instruction, then ten-token items separated by one prompt token (the attention benchmark's
    layout); a hidden size of 8 keeps the embeddings negligible next to the masks."""
    position = torch.arange(length, device=device)
    item_index = torch.where((position >= 20) & ((position - 20) % 11 != 10), (position - 20) // 11, -1)[None]
    return {
        "inputs_embeds": torch.zeros(1, length, 8, device=device),
        "attention_mask": torch.ones(1, length, dtype=torch.long, device=device),
        "position_ids": position[None],
        "item_index": item_index,
    }


def build_mask(approach: str, backend: str, mode: str, batch: dict[str, torch.Tensor]):
    config = IAMRecConfig(hidden_size=8, num_attention_heads=1, num_key_value_heads=1, num_hidden_layers=1)
    config._attn_implementation = backend
    mask = create_causal_mask(
        config=config,
        inputs_embeds=batch["inputs_embeds"],
        attention_mask=batch["attention_mask"],
        position_ids=batch["position_ids"],
        and_mask_function=BUILDERS[approach](mode, batch["item_index"]),
        **{MASK_CACHE_KEYWORD: None},
    )
    if isinstance(mask, torch.Tensor) and mask.is_cuda:
        torch.cuda.synchronize()
    return mask


def timed_build(approach: str, backend: str, mode: str, batch: dict[str, torch.Tensor]) -> float:
    start = time.perf_counter()
    build_mask(approach, backend, mode, batch)
    if batch["item_index"].is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def build_memory_mb(approach: str, backend: str, mode: str, batch: dict[str, torch.Tensor]) -> float:
    """Peak memory growth (MiB) of one build, measured after a warm-up build (which compiles flex's block-mask kernel):
    the allocator's peak on CUDA, the peak resident set on CPU (T x T tensors are large enough to be mapped and
    unmapped whole, so the peak mark is theirs)."""
    gc.collect()
    if batch["item_index"].is_cuda:
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated() / 2**20
        build_mask(approach, backend, mode, batch)
        return torch.cuda.max_memory_allocated() / 2**20 - base
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak-RSS mark (VmHWM) to the current RSS
    base = rss_mb("VmRSS")
    build_mask(approach, backend, mode, batch)
    return rss_mb("VmHWM") - base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--lengths", nargs="+", type=int, default=[1024, 4096, 16384])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = []
    for length in args.lengths:
        batch = inputs(length, args.device)
        cases = [(backend, mode, approach) for backend in args.backends for mode in MODES for approach in APPROACHES]
        times = {case: [] for case in cases}
        for case in cases:  # warm-up
            timed_build(case[2], case[0], case[1], batch)
        for _ in range(args.repeats):  # interleaved, so machine noise hits every case alike
            for case in cases:
                times[case].append(timed_build(case[2], case[0], case[1], batch))
        for backend, mode, approach in cases:
            memory = build_memory_mb(approach, backend, mode, batch)
            rows.append(
                {
                    "length": length,
                    "backend": backend,
                    "mode": mode,
                    "approach": approach,
                    "build_s": round(statistics.median(times[(backend, mode, approach)]), 5),
                    "peak_mb": round(memory, 1),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    for row in rows:  # ratios against the replaced dense rule, same length, backend and mode
        base = next(
            other
            for other in rows
            if other["approach"] == "dense_rule"
            and all(other[key] == row[key] for key in ("length", "backend", "mode"))
        )
        row["time_ratio"] = round(row["build_s"] / base["build_s"], 3)
        row["memory_ratio"] = round(row["peak_mb"] / base["peak_mb"], 3) if base["peak_mb"] > 0 else None

    report = {
        "environment": environment(args.device),
        "command": command_line(),
        "device": args.device,
        "threads": args.threads,
        "batch_size": 1,
        "repeats": args.repeats,
        "rows": rows,
    }
    out = write_result(report, RESULTS / f"masks_{args.device}.json")
    print("\n| T | backend | mode | approach | build (s) | vs dense rule | peak MiB | vs dense rule |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['length']} | {row['backend']} | {row['mode']} | {row['approach']} | {row['build_s']} | "
            f"{row['time_ratio']}x | {row['peak_mb']} | {row['memory_ratio']}x |"
        )
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
