"""RecBole's own sequential models on our exact examples, ranked by our metric code beside our SASRec.

The prepared folder is exported as RecBole's pre-split benchmark files (`iamrec export-recbole`), RecBole trains each
model with its own Trainer and early stopping (its full-ranking validation NDCG@10, `--stopping-step` epochs of
patience), the best epoch's weights are reloaded, and `evaluate_scorer` ranks validation and test over our whole
catalog under the default `EvaluationPolicy` (history kept, pessimistic ties), as `sasrec_ml100k.py` ranks ours.
Items RecBole never saw (in none of the three files) score -inf. The JSON is rewritten after every run.

RecBole 1.2.1 needs a few packages of its own and pandas < 3 (its loader fills missing values in place, which pandas 3
no longer does), so it runs in a virtual environment of its own; the numpy 2 names it aliases are restored below.

    bash benchmarks/recbole_setup.sh .venv-recbole
    .venv-recbole/bin/python benchmarks/recbole_models.py --data-dir runs/ml-100k --models SASRec --seeds 0 1 2 \\
        --output benchmarks/results/recbole_ml100k.json
"""

import argparse
import contextlib
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from environment import environment, public_path, write_result
from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.data.interaction import Interaction
from recbole.trainer import Trainer
from recbole.utils import get_model, init_seed
from sasrec_ml100k import SPLITS, summarise

from iamrec.data import load_prepared
from iamrec.data.recbole_export import export_recbole
from iamrec.evaluation import EvaluationPolicy, evaluate_scorer

# RecBole's Config aliases np.float_, np.complex_ and np.unicode_, which numpy 2 removed.
np.float_, np.complex_, np.unicode_ = np.float64, np.complex128, np.str_
DATASET_NAME = "iamrec"
HISTORY_FIELD = "item_id_list"


def recbole_config(model: str, data_path: Path, seed: int, args: argparse.Namespace, checkpoints: Path) -> Config:
    """RecBole's config for one run: our three files as its benchmark split, its defaults for the model, CE loss over
    the full catalog (no negative sampling), early stopping on full-ranking NDCG@10."""
    return Config(
        model=model,
        dataset=DATASET_NAME,
        config_dict={
            "data_path": str(data_path),
            "benchmark_filename": ["train", "valid", "test"],
            "load_col": {"inter": ["user_id", HISTORY_FIELD, "item_id"]},
            "alias_of_item_id": [HISTORY_FIELD],
            "TIME_FIELD": None,
            "train_neg_sample_args": None,
            "loss_type": "CE",
            "epochs": args.max_epochs,
            **({"train_batch_size": args.batch_size} if args.batch_size else {}),
            "stopping_step": args.stopping_step,
            "metrics": ["NDCG", "Hit"],
            "topk": [10],
            "valid_metric": "NDCG@10",
            "eval_args": {"order": "TO", "mode": "full", "group_by": "user"},
            "device": "cpu",
            "use_gpu": False,
            "seed": seed,
            "reproducibility": True,
            "show_progress": False,
            "checkpoint_dir": str(checkpoints),
            "state": "WARNING",
        },
    )


class RecBoleScorer:
    """A trained RecBole sequential model as our `Scorer`: histories of catalog ids in, catalog-wide scores out."""

    def __init__(self, model: torch.nn.Module, dataset, num_items: int, name: str):
        self.model = model.eval()
        self.name = name
        self.max_length = model.max_seq_length
        tokens = dataset.field2id_token["item_id"]  # RecBole id -> our catalog id as text; 0 is padding
        self.recbole_id = {int(token): index for index, token in enumerate(tokens) if index > 0}
        self.catalog_id = torch.tensor([int(token) for token in tokens[1:]])
        self.num_items = num_items

    def fit(self, train=None, validation=None) -> "RecBoleScorer":
        """RecBole's Trainer has trained the model; returns `self`."""
        return self

    def score(self, examples: list[Mapping]) -> torch.Tensor:
        histories = [[self.recbole_id[item] for item in example["history"]][-self.max_length :] for example in examples]
        items = torch.zeros(len(histories), max(map(len, histories)), dtype=torch.long)
        for row, history in enumerate(histories):
            items[row, : len(history)] = torch.tensor(history)
        lengths = torch.tensor([len(history) for history in histories])
        with torch.no_grad():
            recbole_scores = self.model.full_sort_predict(
                Interaction({HISTORY_FIELD: items, "item_length": lengths})
            ).view(len(examples), -1)
        scores = torch.full((len(examples), self.num_items), float("-inf"))
        scores[:, self.catalog_id] = recbole_scores[:, 1:]
        return scores

    __call__ = score


def run(model_name: str, seed: int, data_path: Path, data, args: argparse.Namespace) -> dict:
    """Trains one (model, seed) with RecBole, reloads its best epoch and ranks validation and test with our code."""
    with tempfile.TemporaryDirectory() as checkpoints, contextlib.chdir(checkpoints):  # its log_tensorboard/ too
        config = recbole_config(model_name, data_path, seed, args, Path(checkpoints))
        init_seed(seed, reproducibility=True)
        dataset = create_dataset(config)
        train, valid, _ = data_preparation(config, dataset)
        init_seed(seed, reproducibility=True)
        model = get_model(model_name)(config, train.dataset)
        trainer = Trainer(config, model)
        start = time.perf_counter()
        _, best_valid = trainer.fit(train, valid, saved=True, show_progress=args.progress)
        fit_seconds = time.perf_counter() - start
        checkpoint = torch.load(trainer.saved_model_file, map_location="cpu", weights_only=False)
        model.load_state_dict(checkpoint["state_dict"])
        best_epoch = checkpoint["epoch"]
    num_items = len(data.titles)
    scorer = RecBoleScorer(model, dataset, num_items, f"RecBole {model_name}")
    metrics = {
        split: evaluate_scorer(
            scorer, data.splits[split], num_items, EvaluationPolicy(), 256, split=split, show_progress=args.progress
        )["metrics"]
        for split in SPLITS
    }
    epochs = len(trainer.train_loss_dict)
    return {
        "model": model_name,
        "seed": seed,
        "test": metrics["test"],
        "validation": metrics["validation"],
        "recbole_best_validation": dict(best_valid),
        "best_epoch": best_epoch + 1,
        "epochs_run": epochs,
        "fit_seconds": round(fit_seconds, 2),
        "seconds_per_epoch": round(fit_seconds / max(epochs, 1), 2),
        "recbole_settings": {key: config[key] for key in ("learning_rate", "train_batch_size", "MAX_ITEM_LIST_LENGTH")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("runs/ml-100k"))
    parser.add_argument("--models", nargs="+", default=["SASRec"], help="RecBole sequential model names")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-epochs", type=int, default=200)
    parser.add_argument("--stopping-step", type=int, default=10, help="RecBole's patience, in epochs")
    parser.add_argument("--batch-size", type=int, help="training batch (default: RecBole's, 2,048; ours is 256)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--progress", action="store_true", help="progress bars inside each epoch and evaluation")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/recbole_ml100k.json"))
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    data = load_prepared(args.data_dir)
    record = {
        "dataset": data.protocol.get("dataset"),
        "num_items": len(data.titles),
        "split_sizes": {name: len(split) for name, split in data.splits.items()},
        "policy": EvaluationPolicy().to_dict(),
        "early_stopping": f"RecBole's full-ranking validation NDCG@10, {args.stopping_step} epochs of patience, "
        "best epoch's weights reloaded",
        "environment": environment("cpu"),
        "threads": args.threads,
        "command": f"python benchmarks/recbole_models.py --data-dir {public_path(args.data_dir)} --models "
        f"{' '.join(args.models)} --seeds {' '.join(map(str, args.seeds))} --max-epochs {args.max_epochs} "
        f"--stopping-step {args.stopping_step} --threads {args.threads} --output {public_path(args.output)}"
        + (f" --batch-size {args.batch_size}" if args.batch_size else ""),
        "runs": {},
    }
    with tempfile.TemporaryDirectory() as exported:
        export_recbole(args.data_dir, Path(exported) / DATASET_NAME)
        for model_name in args.models:
            for seed in args.seeds:
                result = run(model_name, seed, Path(exported), data, args)
                runs = record["runs"].setdefault(model_name, {"seeds": []})
                runs["seeds"].append(result)
                runs["summary"] = summarise(runs["seeds"])
                write_result(record, args.output)
                print(
                    f"{model_name} seed {seed}: test NDCG@10 {result['test']['NDCG@10']:.4f}, validation NDCG@10 "
                    f"{result['validation']['NDCG@10']:.4f}, best epoch {result['best_epoch']} of "
                    f"{result['epochs_run']}, {result['seconds_per_epoch']:.1f} s/epoch",
                    flush=True,
                )


if __name__ == "__main__":
    main()
