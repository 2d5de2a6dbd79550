"""`iamrec demo`: the whole journey on ML-100K, end to end, on a CPU budget.

prepare -> train (HatLLM schedule, LoRA, SmolLM2-135M truncated to a few layers) -> evaluate on the test split next to
MostPopular and Random -> save -> reload through AutoModel/AutoProcessor with trust_remote_code in a fresh process ->
recommend for one test user. Prints the metrics table; everything lands under --output-dir.
"""

import json
import shutil
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path

from .comparison import evaluate_all
from .data import load_prepared, prepare_dataset
from .data.subsets import Sample
from .evaluation import EvaluationPolicy
from .folders import DEMO_DATA_DIR, DEMO_HUB_DIR, DEMO_TRAIN_DIR, EVAL_FILE, PROTOCOL_FILE
from .hub import build_hub_folder
from .training import IAMRecArguments, RecTrainingArguments, train
from .training.budgets import Budget

RELOAD_SCRIPT = """
import json, sys, torch
from transformers import AutoModel, AutoProcessor
folder, history = sys.argv[1], json.loads(sys.argv[2])
model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
inputs = processor([history])
top = model.recommend(**inputs, k=10, exclude=[history])
print(json.dumps({"module": type(model).__module__, "item_ids": top.item_ids[0].tolist(),
                  "titles": processor.decode_items(top.item_ids[0].tolist()), "scores": top.scores[0].tolist()}))
"""


def demo_arguments(output_dir: Path, budget: Budget, seed: int = 42) -> tuple[IAMRecArguments, RecTrainingArguments]:
    """The training arguments of the demo (and of the quickstart notebook) for a budget: `budget.train_settings()`,
    what `iamrec train --budget demo` also reads."""
    settings = budget.train_settings()
    ours = {f.name for f in fields(IAMRecArguments)}
    args = IAMRecArguments(data_dir=str(output_dir / DEMO_DATA_DIR), **{k: v for k, v in settings.items() if k in ours})
    training_args = RecTrainingArguments(
        output_dir=str(output_dir / DEMO_TRAIN_DIR),
        seed=seed,
        overwrite_output_dir=True,  # the demo reruns in place
        **{k: v for k, v in settings.items() if k not in ours},
    )
    return args, training_args


def run_demo(output_dir: Path, budget: Budget, seed: int = 42, device: str = "auto", dtype: str = "auto") -> dict:
    """Runs every step and returns the report that is printed and saved as `DEMO_REPORT_FILE`."""
    started = time.perf_counter()
    timings = {}

    def lap(name: str) -> None:
        timings[name] = round(time.perf_counter() - started - sum(timings.values()), 1)

    data_dir = output_dir / DEMO_DATA_DIR
    data = load_prepared(data_dir) if (data_dir / PROTOCOL_FILE).is_file() else prepare_dataset(data_dir, "ml-100k")
    lap("prepare")

    args, training_args = demo_arguments(output_dir, budget, seed)
    result = train(args, training_args)
    lap("train")

    policy = EvaluationPolicy()
    data.splits["test"] = Sample(budget.max_test_samples).of(data.splits["test"])
    evaluation = evaluate_all(
        data, "test", result.model_dir, ("most_popular", "random"), policy, batch_size=64, device=device, dtype=dtype
    )
    (result.model_dir / EVAL_FILE).write_text(json.dumps(evaluation, indent=2) + "\n")
    lap("evaluate")

    shutil.rmtree(output_dir / DEMO_HUB_DIR, ignore_errors=True)  # the previous run's, if any
    hub_folder = build_hub_folder(result.model_dir, output_dir / DEMO_HUB_DIR, repo_id="iamrec-demo-ml-100k")
    user = data.splits["test"][0]
    reload = subprocess.run(
        [sys.executable, "-c", RELOAD_SCRIPT, str(hub_folder), json.dumps(user["history"])],
        capture_output=True,
        text=True,
        check=False,
    )
    if reload.returncode != 0:
        raise RuntimeError(f"Reloading {hub_folder} with trust_remote_code failed:\n{reload.stderr[-3000:]}")
    recommendation = json.loads(reload.stdout.strip().splitlines()[-1])
    lap("save_reload_recommend")

    # evaluate_all lists the model first, then the baselines in the order asked: MostPopular, Random.
    model_ndcg, popular_ndcg, _ = (metrics["NDCG@10"] for metrics in evaluation["results"].values())
    return {
        "evaluation": evaluation,
        "model_beats_most_popular": model_ndcg > popular_ndcg,
        "best_validation": {
            "metric": training_args.metric_for_best_model,
            "value": result.best_metric,
            "checkpoint": result.best_checkpoint,
            "global_step": result.global_step,
        },
        "validation_curve": [
            (entry["step"], entry["eval_NDCG@10"]) for entry in result.log_history if "eval_NDCG@10" in entry
        ],
        "recommendation": {
            "user": user["user"],
            "history": [data.titles[i] for i in user["history"]],
            "target": data.titles[user["target"]],
            **recommendation,
        },
        "model_dir": str(result.model_dir),
        "hub_folder": str(hub_folder),
        "seconds": timings,
    }


def format_report(report: dict) -> str:
    evaluation = report["evaluation"]
    names = list(next(iter(evaluation["results"].values())))
    rows = [f"{'scorer':<28}" + "".join(f"{name:>10}" for name in names)]
    for scorer, metrics in evaluation["results"].items():
        rows.append(f"{scorer:<28}" + "".join(f"{metrics[name]:>10.4f}" for name in names))
    recommendation = report["recommendation"]
    return "\n".join(
        [
            f"Test split: {evaluation['num_examples']} examples, {evaluation['num_items']} items, "
            f"policy {evaluation['policy']}",
            *rows,
            f"Model beats MostPopular on NDCG@10: {report['model_beats_most_popular']}",
            f"Validation NDCG@10 by step: {report['validation_curve']}",
            "",
            f"User {recommendation['user']} watched: " + "; ".join(recommendation["history"][-5:]),
            f"(next, held out: {recommendation['target']}) -> recommended via {recommendation['module']}:",
            *[
                f"  {rank}. {title} ({score:.3f})"
                for rank, (title, score) in enumerate(zip(recommendation["titles"], recommendation["scores"]), 1)
            ],
            "",
            f"Model: {report['model_dir']}   Hub folder: {report['hub_folder']}   Seconds: {report['seconds']}",
        ]
    )
