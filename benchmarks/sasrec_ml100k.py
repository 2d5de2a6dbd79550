"""SASRec on ML-100K (HatLLM protocol): train to convergence per seed, then validation and test metrics.

Each seed trains with early stopping on validation NDCG@10 (`SASRec.fit`), then `evaluate_scorer` ranks the full
catalog on validation and test under the default `EvaluationPolicy` (history kept, pessimistic ties). The JSON is
rewritten after every seed, so a killed run keeps the seeds it finished.

    iamrec prepare --dataset ml-100k --output-dir runs/ml-100k --no-progress
    python benchmarks/sasrec_ml100k.py --data-dir runs/ml-100k --seeds 0 1 2 --supervision last_position \\
        --output benchmarks/results/sasrec_ml100k_last_position.json
"""

import argparse
import multiprocessing
import os
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

import torch
from environment import environment, public_path, write_result

from iamrec import EvaluationPolicy, SASRec, SASRecConfig, evaluate_scorer, load_prepared
from iamrec.baselines.sasrec import SUPERVISIONS

SPLITS = ("validation", "test")
SUMMARY_METRICS = ("NDCG@10", "HR@10", "NDCG@5", "HR@5", "MRR")


def run_seed(
    data_dir: Path, config: SASRecConfig, seed: int, device: str, threads: int, save_dir: Path | None = None
) -> dict:
    """Trains and evaluates one seed (saved to `save_dir/seed<N>` when given: the item table `iamrec train
    --item_id_init` starts from); runs in a worker process when seeds run in parallel."""
    torch.set_num_threads(threads)
    data = load_prepared(data_dir)
    num_items = len(data.titles)
    start = time.perf_counter()
    scorer = SASRec.fit(data.splits["train"], data.splits["validation"], num_items, config, seed=seed, device=device)
    fit_seconds = time.perf_counter() - start
    if save_dir is not None:
        scorer.save_pretrained(save_dir / f"seed{seed}")
    metrics = {
        split: evaluate_scorer(
            scorer,
            data.splits[split],
            num_items,
            EvaluationPolicy(),
            config.eval_batch_size,
            split=split,
            show_progress=False,
        )["metrics"]
        for split in SPLITS
    }
    epochs_run = len(scorer.epoch_log)
    return {
        "seed": seed,
        "test": metrics["test"],
        "validation": metrics["validation"],
        "best_epoch": scorer.best_epoch,
        "epochs_run": epochs_run,
        "wall_seconds": round(time.perf_counter() - start, 2),
        "fit_seconds": round(fit_seconds, 2),
        "seconds_per_epoch": round(fit_seconds / epochs_run, 2),
        "epoch_log": scorer.epoch_log,
    }


def finished_runs(args: argparse.Namespace, config: SASRecConfig) -> Iterator[dict]:
    """Each seed's result as it finishes: in this process, or with `--jobs` > 1 in that many spawned workers (kill
    the whole process group to stop those)."""
    if args.jobs == 1:
        for seed in args.seeds:
            yield run_seed(args.data_dir, config, seed, args.device, args.threads, args.save_dir)
        return
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=spawn) as pool:
        runs = [
            pool.submit(run_seed, args.data_dir, config, seed, args.device, args.threads, args.save_dir)
            for seed in args.seeds
        ]
        for finished in as_completed(runs):
            yield finished.result()


def summarise(runs: list[dict]) -> dict:
    """Mean and (sample) standard deviation over seeds of each split's metrics, best epoch and seconds per epoch."""
    summary = {}
    for split in SPLITS:
        for metric in SUMMARY_METRICS:
            values = [run[split][metric] for run in runs]
            summary[f"{split}_{metric}"] = {
                "mean": statistics.fmean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            }
    for key in ("best_epoch", "epochs_run", "seconds_per_epoch"):
        values = [run[key] for run in runs]
        summary[key] = {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("runs/ml-100k"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/sasrec_ml100k.json"))
    parser.add_argument("--max-epochs", type=int, default=SASRecConfig.max_epochs)
    parser.add_argument("--patience", type=int, default=SASRecConfig.patience)
    parser.add_argument("--supervision", choices=SUPERVISIONS, default=SASRecConfig.supervision)
    parser.add_argument("--dropout", type=float, default=SASRecConfig.dropout)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1: on a shared 2-core machine, 2 threads thrash)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at once, each in its own process")
    parser.add_argument("--save-dir", type=Path, help="keep each trained SASRec in SAVE_DIR/seed<N>")
    args = parser.parse_args()

    data = load_prepared(args.data_dir)
    num_items = len(data.titles)
    config = SASRecConfig(
        max_epochs=args.max_epochs, patience=args.patience, supervision=args.supervision, dropout=args.dropout
    )
    record = {
        "model": "SASRec",
        "dataset": data.protocol.get("dataset"),
        "num_items": num_items,
        "split_sizes": {name: len(split) for name, split in data.splits.items()},
        "config": asdict(config),
        "policy": EvaluationPolicy().to_dict(),
        "early_stopping": "validation NDCG@10, best epoch's weights kept",
        "environment": environment(args.device),
        "device": args.device,
        "threads": args.threads,
        "parallel_seeds": args.jobs,
        "load_average_at_start": os.getloadavg(),
        "command": f"python benchmarks/sasrec_ml100k.py --data-dir {public_path(args.data_dir)} --seeds "
        f"{' '.join(map(str, args.seeds))} --output {public_path(args.output)} --max-epochs {args.max_epochs} "
        f"--patience {args.patience} --supervision {args.supervision} --dropout {args.dropout} "
        f"--threads {args.threads} --device {args.device} --jobs {args.jobs}"
        + (f" --save-dir {public_path(args.save_dir)}" if args.save_dir else ""),
        "seeds": [],
    }
    for run in finished_runs(args, config):
        record["seeds"] = sorted(record["seeds"] + [run], key=lambda entry: entry["seed"])
        record["summary"] = summarise(record["seeds"])
        write_result(record, args.output)
        print(
            f"seed {run['seed']}: test NDCG@10 {run['test']['NDCG@10']:.4f} HR@10 {run['test']['HR@10']:.4f}, "
            f"validation NDCG@10 {run['validation']['NDCG@10']:.4f}, best epoch {run['best_epoch']} of "
            f"{run['epochs_run']}, {run['seconds_per_epoch']:.1f} s/epoch",
            flush=True,
        )


if __name__ == "__main__":
    main()
