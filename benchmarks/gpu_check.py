"""The GPU check, one command in a time box: backend agreement, step throughput, `iamrec train` throughput, a timed
test evaluation, and intra-item layers at long sequences under sdpa and flex attention, each written to its own JSON
file under --output the moment it is measured.

A stage that would start after the deadline is skipped and recorded as such, so a killed or timed-out run still
leaves every finished stage on disk. It also runs on CPU with tiny settings (the tests do), so that device time is
spent only on a script known to work:

    python benchmarks/gpu_check.py --data-dir runs/ml-100k --budget-minutes 12            # on the GPU machine
    python benchmarks/gpu_check.py --device cpu --layers 2 --train-steps 2 --max-test 32 --base-model DIR --data-dir D
"""

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import transformers

sys.path.insert(0, str(Path(__file__).parent))
import bench_attention  # noqa: E402  (the same model shapes and batches as the attention benchmark)

STAGES = ("environment", "agreement", "step_throughput", "train_throughput", "evaluation", "long_context")


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
    batch = bench_attention.make_batch(args.batch_size, args.length, args.device)
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    results = {}
    for schedule in ("full", "hatllm", "iam"):
        reference = None
        for dtype in (torch.float32, torch.bfloat16):
            for implementation in ("eager", "sdpa", "flex_attention"):
                name = f"{schedule}/{implementation}/{str(dtype).removeprefix('torch.')}"
                try:
                    model = bench_attention.build(schedule, args.layers, implementation, args.device).to(dtype)
                    with torch.no_grad():
                        logits = model(**inputs).logits.float()
                except Exception as error:  # a backend that cannot run here is a result, not a crash
                    results[name] = {"error": f"{type(error).__name__}: {error}"[:300]}
                    continue
                reference = logits if reference is None else reference
                results[name] = {"max_abs_diff_vs_eager_fp32": (logits - reference).abs().max().item()}
    return results


def step_throughput(args: argparse.Namespace) -> dict:
    """Forward+backward samples/s of plain Llama and each schedule, medians of interleaved repeats."""
    batch = bench_attention.make_batch(args.batch_size, args.length, args.device)
    models = {
        name: bench_attention.build(name, args.layers, "sdpa", args.device) for name in ("llama", "full", "hatllm")
    }
    dtype = torch.bfloat16 if args.device.startswith("cuda") else torch.float32
    for model in models.values():
        model.to(dtype)
        bench_attention.step(model, batch)  # warm-up
    times = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            times[name].append(bench_attention.timed_step(model, batch, args.device.split(":")[0]))
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "batch_size": args.batch_size,
        "length": args.length,
        "layers": args.layers,
        "dtype": str(dtype),
        "samples_per_second": {name: args.batch_size / median for name, median in medians.items()},
        "step_time_vs_llama": {name: median / medians["llama"] for name, median in medians.items()},
    }


def train_throughput(args: argparse.Namespace, work: Path) -> dict:
    """`train()` of the HatLLM schedule for a few steps: the Trainer's own samples/s; keeps the model for evaluation."""
    from iamrec.arguments import IAMRecArguments, RecTrainingArguments
    from iamrec.train import train

    layers = None if args.base_model_layers <= 0 else args.base_model_layers
    model_args = IAMRecArguments(
        data_dir=args.data_dir,
        base_model=args.base_model,
        base_model_layers=layers,
        num_intra=args.num_intra,
        num_inter_last=args.num_inter_last,
        rec_head_norm="batch",
    )
    training_args = RecTrainingArguments(
        output_dir=str(work / "train"),
        max_steps=args.train_steps,
        eval_strategy="no",
        save_strategy="no",
        load_best_model_at_end=False,
        per_device_train_batch_size=args.batch_size,
        bf16=args.device.startswith("cuda"),
        logging_steps=max(1, args.train_steps // 4),
        disable_tqdm=True,
        report_to=[],
        use_cpu=args.device == "cpu",
    )
    start = time.perf_counter()
    result = train(model_args, training_args)
    summary = next(entry for entry in reversed(result.log_history) if "train_samples_per_second" in entry)
    return {
        "steps": result.global_step,
        "batch_size": args.batch_size,
        "train_samples_per_second": summary["train_samples_per_second"],
        "wall_seconds": time.perf_counter() - start,
        "model_dir": str(result.model_dir),
    }


def evaluation(args: argparse.Namespace, model_dir: str | None) -> dict:
    """The whole test split (or its first --max-test examples) ranked on the device, timed."""
    if model_dir is None:
        raise RuntimeError("no trained model: the train_throughput stage did not finish")
    from iamrec.data import load_prepared
    from iamrec.evaluation import evaluate_all

    data = load_prepared(args.data_dir)
    if args.max_test is not None:
        data.splits["test"] = data.splits["test"].select(range(min(args.max_test, len(data.splits["test"]))))
    start = time.perf_counter()
    report = evaluate_all(data, "test", model_dir, (), batch_size=args.eval_batch_size, device=args.device)
    return {**report, "seconds": time.perf_counter() - start}


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
    parser.add_argument("--base-model-layers", type=int, default=0, help="keep the first N layers (0: all)")
    parser.add_argument("--num-intra", type=int, default=None, help="HatLLM's leading intra layers (default 4)")
    parser.add_argument("--num-inter-last", type=int, default=None, help="HatLLM's trailing inter_last layers (1)")
    parser.add_argument("--layers", type=int, default=30, help="layers of the synthetic models (SmolLM2 shapes)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-steps", type=int, default=60)
    parser.add_argument("--eval-batch-size", type=int, default=128)
    parser.add_argument("--max-test", type=int, default=None, help="evaluate only the first N test examples")
    parser.add_argument("--long-lengths", type=int, nargs="+", default=[4096, 16384], help="long_context's lengths")
    parser.add_argument("--long-layers", type=int, default=4, help="intra layers in the long_context stage")
    args = parser.parse_args(argv)
    output, deadline = Path(args.output), time.monotonic() + 60 * args.budget_minutes
    output.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    state: dict = {}
    runners = {
        "environment": lambda: environment(args),
        "agreement": lambda: agreement(args),
        "step_throughput": lambda: step_throughput(args),
        "train_throughput": lambda: train_throughput(args, work),
        "evaluation": lambda: evaluation(args, state["train_throughput"].get("model_dir")),
        "long_context": lambda: long_context(args),
    }
    for stage in STAGES:
        if time.monotonic() > deadline:
            result = {"skipped": f"the {args.budget_minutes}-minute budget ran out before this stage"}
        else:
            started = time.perf_counter()
            try:
                result = {**runners[stage](), "stage_seconds": time.perf_counter() - started}
            except Exception as error:  # the next stages still run, and this one's failure is on disk
                result = {"error": f"{type(error).__name__}: {error}"[:1000]}
        state[stage] = result
        (output / f"{stage}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"{stage}: {'error' if 'error' in result else 'skipped' if 'skipped' in result else 'done'}", flush=True)
    return 0 if all("error" not in result for result in state.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
