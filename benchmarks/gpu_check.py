"""The GPU check, one command in a time box: step throughput against plain Llama, `iamrec train` throughput under
each speed-up (one stage per variant), a timed test evaluation, backend agreement, and intra-item layers at long
sequences under sdpa and flex attention, each written to its own JSON file under --output the moment it is measured.

A stage that would start after the deadline is skipped and recorded as such, so a killed or timed-out run still
leaves every finished stage on disk. It also runs on CPU with tiny settings (the tests do), so that device time is
spent only on a script known to work:

    python benchmarks/gpu_check.py --data-dir runs/ml-100k --budget-minutes 12            # on the GPU machine
    python benchmarks/gpu_check.py --data-dir D --random-base-model SHAPE_DIR ...   # weights that need not travel
    python benchmarks/gpu_check.py --device cpu --layers 2 --train-steps 2 --max-test 32 --base-model DIR --data-dir D
"""

import argparse
import functools
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import transformers
from transformers import TrainerCallback

from iamrec.tokenization.collator import SUPERVISIONS

sys.path.insert(0, str(Path(__file__).parent))
import bench_attention  # noqa: E402  (the same model shapes and batches as the attention benchmark)

# `iamrec train` settings measured one after another, each adding one speed-up to the previous (batch 32 first).
TRAIN_VARIANTS = {
    "batch_32": {"per_device_train_batch_size": 32},
    "batch_256": {"per_device_train_batch_size": 256},
    "fused_adamw_workers": {"optim": "adamw_torch_fused", "dataloader_num_workers": 4, "dataloader_pin_memory": True},
    "group_by_length": {"train_sampling_strategy": "group_by_length"},
    "batch_512": {"per_device_train_batch_size": 512},
    "torch_compile": {"torch_compile": True},
}


def environment(args: argparse.Namespace) -> dict:
    device = torch.device(args.device)
    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "bf16_supported": device.type == "cuda" and torch.cuda.is_bf16_supported(),
    }


def agreement(args: argparse.Namespace) -> dict:
    """Max |logits - eager fp32 logits| per schedule, attention implementation and dtype, on one batch."""
    batch = bench_attention.make_batch(4, args.length, args.device)
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    results = {}
    for schedule in ("full", "hatllm", "iam"):
        reference = None
        for dtype in (torch.float32, torch.bfloat16):
            for implementation in ("eager", "sdpa", "flex_attention"):
                name = f"{schedule}/{implementation}/{str(dtype).removeprefix('torch.')}"
                try:
                    model = bench_attention.build(schedule, args.agreement_layers, implementation, args.device)
                    model = model.to(dtype)
                    with torch.no_grad():
                        logits = model(**inputs).logits.float()
                except Exception as error:  # a backend that cannot run here is a result, not a crash
                    results[name] = {"error": f"{type(error).__name__}: {error}"[:300]}
                    continue
                reference = logits if reference is None else reference
                results[name] = {"max_abs_diff_vs_eager_fp32": (logits - reference).abs().max().item()}
    return results


def step_throughput(args: argparse.Namespace) -> dict:
    """Forward+backward samples/s of plain Llama, `full` and `hatllm` at each --step-batch-sizes, medians of
    interleaved repeats (all weights trained, no LoRA: this isolates what the masks cost)."""
    dtype = torch.bfloat16 if args.device.startswith("cuda") else torch.float32
    models = {
        name: bench_attention.build(name, args.layers, "sdpa", args.device).to(dtype)
        for name in ("llama", "full", "hatllm")
    }
    results = {"length": args.length, "layers": args.layers, "dtype": str(dtype), "by_batch_size": {}}
    for batch_size in args.step_batch_sizes:
        batch = bench_attention.make_batch(batch_size, args.length, args.device)
        for model in models.values():
            bench_attention.step(model, batch)  # warm-up
        times = {name: [] for name in models}
        for _ in range(args.repeats):
            for name, model in models.items():
                times[name].append(bench_attention.timed_step(model, batch, args.device.split(":")[0]))
        medians = {name: statistics.median(values) for name, values in times.items()}
        results["by_batch_size"][batch_size] = {
            "samples_per_second": {name: batch_size / median for name, median in medians.items()},
            "step_time_vs_llama": {name: median / medians["llama"] for name, median in medians.items()},
        }
    return results


class StepTimer(TrainerCallback):
    """Wall time of every optimizer step, the device synchronised at each end, so the steady state can be told from
    the first steps (allocation, autotuning, compilation) that the Trainer's own samples/s averages in."""

    def __init__(self, device: str):
        self.device, self.ends = device, []

    def on_step_begin(self, args, state, control, **kwargs):
        if not self.ends:
            self.ends.append(self._now())

    def on_step_end(self, args, state, control, **kwargs):
        self.ends.append(self._now())

    def _now(self) -> float:
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter()

    def steady_step_seconds(self, warmup: int) -> float:
        steps = [end - start for start, end in zip(self.ends, self.ends[1:])]
        return statistics.median(steps[warmup:] if len(steps) > warmup else steps)


def random_base_model(shape_dir: str, work: Path) -> str:
    """shape_dir's model (config and tokenizer) with random weights, saved under `work`: speed does not depend on the
    weights, and SmolLM2's real ones (a 94 MiB GGUF) would not travel to a device machine in one call."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    target = work / "random-base-model"
    AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(shape_dir)).save_pretrained(target)
    AutoTokenizer.from_pretrained(shape_dir).save_pretrained(target)
    return str(target)


def train_variant(args: argparse.Namespace, settings: dict, work: Path) -> dict:
    """`train()` of the HatLLM schedule for --train-steps steps with `settings` over the defaults below: the steady
    samples/s (median step after --warmup-steps), the Trainer's own samples/s, and peak device memory."""
    from iamrec import IAMRecArguments, RecTrainingArguments, train

    layers = None if args.base_model_layers <= 0 else args.base_model_layers
    model_args = IAMRecArguments(
        data_dir=args.data_dir,
        base_model=args.base_model,
        base_model_layers=layers,
        num_intra=args.num_intra,
        num_inter_last=args.num_inter_last,
        rec_head_norm="batch",
        supervision=args.supervision,
    )
    values = {
        "output_dir": str(work / f"train-{len(list(work.glob('train-*')))}"),
        "max_steps": args.train_steps,
        "eval_strategy": "no",
        "save_strategy": "no",
        "load_best_model_at_end": False,
        "per_device_train_batch_size": args.batch_size,
        "bf16": args.device.startswith("cuda"),
        "logging_steps": max(1, args.train_steps // 4),
        "disable_tqdm": True,
        "report_to": [],
        "use_cpu": args.device == "cpu",
        "dataloader_num_workers": 0,
        **settings,
    }
    timer = StepTimer(args.device)
    if args.device.startswith("cuda"):  # the peak of this variant alone
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    result = train(model_args, RecTrainingArguments(**values), callbacks=[timer])
    summary = next(entry for entry in reversed(result.log_history) if "train_samples_per_second" in entry)
    batch_size = values["per_device_train_batch_size"]
    steady = timer.steady_step_seconds(args.warmup_steps)
    return {
        "settings": {key: value for key, value in values.items() if key != "output_dir"},
        "supervision": args.supervision,  # samples are rows: prompts under last, item sequences under every_item
        "steps": result.global_step,
        "steady_step_seconds": steady,
        "steady_samples_per_second": batch_size / steady,
        "trainer_samples_per_second": summary["train_samples_per_second"],
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if args.device.startswith("cuda") else None,
        "wall_seconds": time.perf_counter() - start,
        "model_dir": os.path.relpath(result.model_dir),  # results are committed: no absolute path
    }


def evaluation(args: argparse.Namespace, model_dir: str | None) -> dict:
    """The whole test split (or its first --max-test examples) ranked on the device in bf16 and in fp32, each timed:
    the bf16 metrics should match fp32's within the noise of a few rank swaps."""
    if model_dir is None:
        raise RuntimeError("no trained model: no train stage finished")
    from iamrec import evaluate, load_prepared

    data = load_prepared(args.data_dir)
    if args.max_test is not None:
        data.splits["test"] = data.splits["test"].select(range(min(args.max_test, len(data.splits["test"]))))
    results = {"examples": len(data.splits["test"]), "batch_size": args.eval_batch_size}
    dtypes = ("bfloat16", "float32") if args.device.startswith("cuda") else ("float32",)
    for dtype in dtypes:
        start = time.perf_counter()
        report = evaluate(data, "test", model_dir, (), batch_size=args.eval_batch_size, device=args.device, dtype=dtype)
        results[dtype] = {**report, "seconds": time.perf_counter() - start}
    return results


def long_context(args: argparse.Namespace) -> dict:
    """Forward+backward seconds of a stack of `intra` layers, batch 1, at each --long-lengths: flex attention (a sparse
    BlockMask built from the mask functions) against sdpa (a dense boolean mask), medians of interleaved repeats."""
    from iamrec import IAMRecConfig, IAMRecForSequentialRecommendation

    dtype = torch.bfloat16 if args.device.startswith("cuda") else torch.float32
    device_type = args.device.split(":")[0]
    results = {"layers": args.long_layers, "dtype": str(dtype), "step_seconds": {}}
    for length in args.long_lengths:
        batch = bench_attention.make_batch(1, length, args.device)
        models, times = {}, {}
        for implementation in ("sdpa", "flex_attention"):
            torch.manual_seed(0)
            config = IAMRecConfig(
                num_hidden_layers=args.long_layers,
                item_mask_modes=["intra"] * args.long_layers,
                num_items=bench_attention.NUM_ITEMS,
                max_position_embeddings=max(length, 8192),
                **bench_attention.SHAPE,
            )
            model = IAMRecForSequentialRecommendation(config).to(args.device, dtype)
            model.set_attn_implementation(implementation)
            try:
                bench_attention.step(model, batch)  # warm-up (flex compiles here)
            except Exception as error:  # out of memory or no kernel here: a result, not a crash
                times[implementation] = {"error": f"{type(error).__name__}: {error}"[:300]}
                continue
            models[implementation], times[implementation] = model, []
        for _ in range(args.repeats):
            for implementation, model in models.items():
                times[implementation].append(bench_attention.timed_step(model, batch, device_type))
        results["step_seconds"][length] = {
            name: value if isinstance(value, dict) else statistics.median(value) for name, value in times.items()
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="benchmarks/results/gpu_check", help="one JSON file per stage here")
    parser.add_argument("--budget-minutes", type=float, default=12.0, help="no stage starts after this")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--data-dir", required=True, help="a prepared dataset (iamrec prepare)")
    parser.add_argument("--base-model", default="smollm2-135m")
    parser.add_argument("--random-base-model", help="train from this folder's config and tokenizer, random weights")
    parser.add_argument("--base-model-layers", type=int, default=0, help="keep the first N layers (0: all)")
    parser.add_argument("--num-intra", type=int, default=None, help="HatLLM's leading intra layers (default: its own)")
    parser.add_argument("--num-inter-last", type=int, default=None, help="HatLLM's trailing inter_last layers (same)")
    parser.add_argument("--layers", type=int, default=30, help="layers of the synthetic models (SmolLM2 shapes)")
    parser.add_argument("--agreement-layers", type=int, default=4, help="layers of the backend-agreement models")
    parser.add_argument("--step-batch-sizes", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--length", type=int, default=160, help="synthetic prompts (ML-100K's are 44-167 tokens)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32, help="training batch unless a variant sets one")
    parser.add_argument("--supervision", default="last", choices=SUPERVISIONS, help="the train stages' format (rows/s)")
    parser.add_argument("--train-variants", nargs="*", choices=list(TRAIN_VARIANTS), default=list(TRAIN_VARIANTS))
    parser.add_argument("--train-steps", type=int, default=40)
    parser.add_argument("--warmup-steps", type=int, default=10, help="steps left out of the steady samples/s")
    parser.add_argument("--eval-batch-size", type=int, default=256)
    parser.add_argument("--max-test", type=int, default=None, help="evaluate only the first N test examples")
    parser.add_argument("--long-lengths", type=int, nargs="+", default=[4096, 16384], help="long_context's lengths")
    parser.add_argument("--long-layers", type=int, default=4, help="intra layers in the long_context stage")
    parser.add_argument("--only", nargs="+", metavar="STAGE", help="run these stages alone (a rerun of some)")
    args = parser.parse_args(argv)
    output, deadline = Path(args.output), time.monotonic() + 60 * args.budget_minutes
    output.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    if args.random_base_model:
        args.base_model = random_base_model(args.random_base_model, work)
    state: dict = {}
    runners = {"environment": lambda: environment(args), "step_throughput": lambda: step_throughput(args)}
    settings, compiled = {}, {}
    for variant in args.train_variants:  # each adds its settings to those of the variants before it
        settings = {**settings, **TRAIN_VARIANTS[variant]}
        stages = compiled if variant == "torch_compile" else runners  # compiling can take minutes: it goes last
        stages[f"train_{variant}"] = functools.partial(train_variant, args, settings, work)
    runners["evaluation"] = lambda: evaluation(args, last_model_dir(state))
    runners["agreement"] = lambda: agreement(args)
    runners["long_context"] = lambda: long_context(args)
    runners.update(compiled)
    if args.only:
        unknown = sorted(set(args.only) - set(runners))
        if unknown:
            parser.error(f"unknown stages {unknown}; the stages are {list(runners)}")
        runners = {stage: runner for stage, runner in runners.items() if stage in args.only}
    for stage, runner in runners.items():
        if time.monotonic() > deadline:
            result = {"skipped": f"the {args.budget_minutes}-minute budget ran out before this stage"}
        else:
            started = time.perf_counter()
            try:
                result = {**runner(), "stage_seconds": time.perf_counter() - started}
            except Exception as error:  # the next stages still run, and this one's failure is on disk
                result = {"error": f"{type(error).__name__}: {error}"[:1000]}
            release_memory()  # what a failed stage held (an out-of-memory one: all of it) must not fail the next
        state[stage] = result
        (output / f"{stage}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"{stage}: {'error' if 'error' in result else 'skipped' if 'skipped' in result else 'done'}", flush=True)
    return 0 if all("error" not in result for result in state.values()) else 1


def release_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def last_model_dir(state: dict) -> str | None:
    """The model saved by the last train stage that finished."""
    trained = [
        result["model_dir"] for name, result in state.items() if name.startswith("train_") and "model_dir" in result
    ]
    return trained[-1] if trained else None


if __name__ == "__main__":
    sys.exit(main())
