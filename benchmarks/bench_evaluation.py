"""Evaluation: the baselines on real ML-100K, and the cost of streaming full-catalog ranking.

1. MostPopular (both counting rules) and Random on the ML-100K validation and test splits (HatLLM protocol, from
   the recbole wheel), with and without history exclusion, pessimistic ties.
2. Streaming cost: ranking time per example, and peak RSS growth of a fresh child process that streams N examples
   over a large catalog through `RankingAccumulator` and through the `evaluate` module, against the bytes that
   keeping every logit (the Trainer's default) would need. Each child runs REPEATS times: the growth varies with
   glibc heap fragmentation (large per-batch temporaries pinned by small long-lived blocks).

Writes benchmarks/results/evaluation_cpu.json and prints a summary.

    python benchmarks/bench_evaluation.py
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from environment import command_line, environment, write_result

import iamrec
from iamrec import EvaluationPolicy, MostPopular, Random, evaluate_scorer, prepare_dataset
from iamrec.evaluation import RankingAccumulator

RESULTS = Path(__file__).parent / "results"
THREADS = 2
REPEATS = 3  # peak RSS depends on glibc heap fragmentation, which varies from run to run
PER_RUN = ("ranking_us_per_example", "peak_rss_growth_mib")


def baselines_on_ml100k() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data = prepare_dataset(Path(tmp) / "ml-100k", "ml-100k", progress=False)
        num_items = len(data.titles)
        runs = []
        for count in ("targets", "targets+histories"):
            start = time.perf_counter()
            popular = MostPopular(num_items, count=count).fit(data.splits["train"])
            fit_seconds = time.perf_counter() - start
            for scorer in (popular, Random(num_items, seed=0)) if count == "targets" else (popular,):
                for split in ("validation", "test"):
                    for exclude in (False, True):
                        if isinstance(scorer, Random):
                            scorer = Random(num_items, seed=0)  # the same draws for every split and policy
                        start = time.perf_counter()
                        result = evaluate_scorer(
                            scorer,
                            data.splits[split],
                            num_items,
                            EvaluationPolicy(exclude_history=exclude),
                            batch_size=256,
                            split=split,
                            show_progress=False,
                        )
                        result["seconds"] = round(time.perf_counter() - start, 3)
                        if isinstance(scorer, MostPopular):
                            result["fit_seconds"] = round(fit_seconds, 3)
                        runs.append(result)
        return {"num_items": num_items, "split_sizes": {k: len(v) for k, v in data.splits.items()}, "runs": runs}


def stream(mode: str, num_items: int, num_examples: int, batch_size: int) -> dict:
    """Runs in a fresh process: streams random scores and reports timing and peak RSS growth."""
    torch.set_num_threads(THREADS)
    generator = torch.Generator().manual_seed(0)
    batches = num_examples // batch_size
    scores = torch.randn(batch_size, num_items, generator=generator)  # one buffer, refilled per batch
    targets = torch.randint(0, num_items, (batch_size,), generator=generator)
    accumulator = RankingAccumulator()
    metric = iamrec.ranking_metric()
    warm_up = RankingAccumulator()  # lazy initialisation (library pages, thread pools) is not per-example cost
    warm_up.update(scores, targets)
    warm_up.compute()
    baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ranking_seconds = 0.0
    for _ in range(batches):
        scores.normal_(generator=generator)
        start = time.perf_counter()
        if mode == "accumulator":
            accumulator.update(scores, targets)
        else:
            metric.add_batch(predictions=scores, references=targets)
        ranking_seconds += time.perf_counter() - start
    result = accumulator.compute() if mode == "accumulator" else metric.compute()
    peak_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline_rss
    return {
        "mode": mode,
        "num_items": num_items,
        "num_examples": result["num_examples"],
        "batch_size": batch_size,
        "ranking_us_per_example": round(ranking_seconds / result["num_examples"] * 1e6, 2),
        "peak_rss_growth_mib": round(peak_growth / 1024, 1),
        "score_batch_mib": round(scores.numel() * 4 / 2**20, 1),
        "all_logits_would_need_mib": round(result["num_examples"] * num_items * 4 / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs=4, metavar=("MODE", "NUM_ITEMS", "NUM_EXAMPLES", "BATCH_SIZE"))
    args = parser.parse_args()
    if args.child:
        mode, *sizes = args.child
        print(json.dumps(stream(mode, *map(int, sizes))))
        return

    torch.set_num_threads(THREADS)
    streaming = []
    for num_items, num_examples in ((1682, 16384), (100_000, 16384)):
        for mode in ("accumulator", "evaluate"):
            child = [sys.executable, __file__, "--child", mode, str(num_items), str(num_examples), "256"]
            runs = [
                json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout)
                for _ in range(REPEATS)
            ]
            summary = {key: value for key, value in runs[0].items() if key not in PER_RUN}
            summary.update({key: [run[key] for run in runs] for key in PER_RUN})
            streaming.append(summary)
            print(summary)
    baselines = baselines_on_ml100k()
    for run in baselines["runs"]:
        metrics = run["metrics"]
        print(
            f"{run['scorer']:<32} {run['split']:<10} exclude_history={run['policy']['exclude_history']!s:<5} "
            f"HR@10={metrics['HR@10']:.4f} NDCG@10={metrics['NDCG@10']:.4f} MRR={metrics['MRR']:.4f} "
            f"({run['num_examples']} examples, {run['seconds']} s)"
        )
    report = {
        "environment": environment(),
        "command": command_line(),
        "device": "cpu",
        "streaming": streaming,
        "ml100k_baselines": baselines,
    }
    output = write_result(report, RESULTS / "evaluation_cpu.json")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
