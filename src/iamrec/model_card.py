"""The model card of a trained model folder: Hub metadata (base model, dataset, license, model-index) and a short text.

The Hub reads the metadata block to link the base model and the dataset and to show the test metrics; people read
the tables. Everything comes from files of the folder (`config.json`, `iamrec_run.json`, `eval_results.json`), which
name data and local base models by name only, so the card holds no local path.
"""

import json
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .folder_checks import read_json_object
from .folders import CONFIG_FILE, EVAL_FILE, MODEL_CONFIG_HOLDS, MODEL_CONFIG_KEYS, PROCESSOR_FILE, RUN_FILE

TAGS = ["recommendation", "sequential-recommendation", "iamrec", "hatllm", "custom_code"]
BASE_MODEL_LICENSES = {"HuggingFaceTB/SmolLM2-135M-Instruct": "apache-2.0"}
"""Licenses of base models we know; the weights of a fine-tuned model fall under its base model's license."""
EVAL_KEYS = ("split", "num_examples", "num_items", "policy", "results")
"""What the card reads from `eval_results.json`."""
TASK = ("sequential-recommendation", "Sequential recommendation")
CITATION = """\
@article{cui2025hatllm,
  title   = {HatLLM: Hierarchical Attention Masking for Enhanced Collaborative Modeling in LLM-based Recommendation},
  author  = {Cui, Yu and Liu, Feng and Chen, Jiawei and Jin, Canghong and Lou, Xingyu and Zhang, Changwang and
             Wang, Jun and Sun, Yuegang and Wang, Can},
  journal = {arXiv preprint arXiv:2510.10955},
  year    = {2025}
}

@article{zhang2026iam,
  title   = {From Token to Item: Enhancing Large Language Models for Recommendation via Item-aware Attention Mechanism},
  author  = {Zhang, Xiaokun and He, Bowei and Chen, Jiamin and Cui, Ziqiang and Ma, Chen},
  journal = {arXiv preprint arXiv:2603.19693},
  note    = {WWW 2026},
  year    = {2026}
}"""


def model_card(model_dir: Path, repo_id: str | None = None) -> str:
    """The README.md of the Hub repository: metadata, use, schedule, training, data protocol, test metrics."""
    config = read_json_object(model_dir / CONFIG_FILE, MODEL_CONFIG_HOLDS, MODEL_CONFIG_KEYS)
    run = _read(model_dir / RUN_FILE, "the record of the `iamrec train` run") or {}
    evaluation = _read(model_dir / EVAL_FILE, "the test metrics of `iamrec evaluate --output`", EVAL_KEYS)
    protocol = run.get("data_protocol", {})
    name = repo_id or model_dir.name
    base = run.get("iamrec_arguments", {}).get("base_model")
    dataset = dataset_name(protocol)
    metadata = ModelCardData(
        model_name=name,
        base_model=base if base and "/" in base else None,  # a Hub id; local folders are recorded by name only
        datasets=[dataset] if dataset else None,
        library_name="transformers",
        license=BASE_MODEL_LICENSES.get(base),
        tags=TAGS,
        eval_results=eval_results(evaluation, dataset) if evaluation else None,
    )
    sections = [
        f"# {name}",
        "",
        summary(config, run, base),
        "",
        *use_section(repo_id, model_dir),
        *schedule_section(config["item_mask_modes"]),
        *training_section(run),
        *protocol_section(protocol, dataset),
        *metrics_section(evaluation),
        "## Citation",
        "",
        "```bibtex",
        CITATION,
        "```",
        "",
    ]
    return str(ModelCard("\n".join(["---", metadata.to_yaml(), "---", "", *sections])))


def dataset_name(protocol: dict) -> str | None:
    """The embedded dataset's name, else the first interactions file's name without its suffixes."""
    if protocol.get("dataset"):
        return protocol["dataset"]
    files = [entry["file"] for entry in protocol.get("source_files", []) if entry.get("role") == "interactions"]
    return files[0].split(".")[0] if files else None


def eval_results(evaluation: dict, dataset: str | None) -> list[EvalResult]:
    """The model's own test metrics (the first scorer, as `iamrec evaluate` lists it) for the card's model-index."""
    model_metrics = next(iter(evaluation["results"].values()))
    return [
        EvalResult(
            task_type=TASK[0],
            task_name=TASK[1],
            dataset_type=dataset or "unknown",
            dataset_name=dataset or "unknown",
            dataset_split=evaluation["split"],
            metric_type=metric.lower(),
            metric_name=metric,
            metric_value=round(value, 4),
            dataset_args={"ranked_items": evaluation["num_items"], **evaluation["policy"]},
        )
        for metric, value in model_metrics.items()
    ]


def summary(config: dict, run: dict, base: str | None) -> str:
    layers = config["num_hidden_layers"]
    base_text = f"[`{base}`](https://huggingface.co/{base})" if base and "/" in base else f"`{base or 'unknown'}`"
    kept = run.get("iamrec_arguments", {}).get("base_model_layers")
    depth = f"its first {layers} layers" if kept else f"{layers} layers"
    weights = run.get("base_model_weights")
    return (
        "A sequential recommender built with `iamrec`: the LLM "
        f"{base_text} ({depth}) reads a user's history as item titles, its layers use item-aware attention masks "
        "(HatLLM, arXiv 2510.10955; IAM, arXiv 2603.19693), and a head scores all "
        f"{config['num_items']:,} catalog items from the last prompt token."
        + (f" The base weights are {weights}." if weights else "")
    )


def use_section(repo_id: str | None, model_dir: Path) -> list[str]:
    titles = (_read(model_dir / PROCESSOR_FILE, "the processor settings") or {}).get("titles", [])[:3]
    return [
        "## Use",
        "",
        "```python",
        "from transformers import AutoModel, AutoProcessor",
        "",
        f'model = AutoModel.from_pretrained("{repo_id or "REPO"}", trust_remote_code=True)',
        f'processor = AutoProcessor.from_pretrained("{repo_id or "REPO"}", trust_remote_code=True)',
        f"inputs = processor([{json.dumps(titles)}])  # a history of catalog titles, oldest first",
        "top = model.recommend(**inputs, k=10)",
        "print(processor.decode_items(top.item_ids[0]))",
        "```",
        "",
    ]


def schedule_section(modes: list[str]) -> list[str]:
    return [
        "## Attention schedule",
        "",
        "| layers | mode |",
        "|---|---|",
        *[f"| {span} | `{mode}` |" for span, mode in layer_runs(modes)],
        "",
    ]


def layer_runs(modes: list[str]) -> list[tuple[str, str]]:
    """Consecutive layers with the same mode, as ("0-3", "intra") pairs."""
    runs, start = [], 0
    for index in range(1, len(modes) + 1):
        if index == len(modes) or modes[index] != modes[start]:
            runs.append((f"{start}" if index - 1 == start else f"{start}-{index - 1}", modes[start]))
            start = index
    return runs


def training_section(run: dict) -> list[str]:
    if not run:
        return []
    args = run.get("iamrec_arguments", {})
    rows = [
        ("LoRA", f"r={args['lora_r']}, alpha {args['lora_alpha']}, dropout {args['lora_dropout']}, merged"),
        ("head", f"{args.get('rec_head_type', 'linear')}, normalisation `{args.get('rec_head_norm', 'none')}`"),
        ("steps", run.get("global_step")),
        ("seed", run.get("seed")),
    ]
    if not args.get("lora_r"):
        rows[0] = ("LoRA", "none: every weight trained")
    for metric, value in (run.get("best_metric") or {}).items():
        if value is not None:
            rows.append(
                (f"best validation {metric}", f"{value:.4f} on {run.get('validation_examples', '?'):,} examples")
            )
    return ["## Training", "", *table(("setting", "value"), rows), ""]


def protocol_section(protocol: dict, dataset: str | None) -> list[str]:
    """The data protocol as a short table: what was kept, how it was windowed and split."""
    if not protocol:
        return []
    settings, stats = protocol.get("settings", {}), protocol.get("statistics", {})
    samples = stats.get("samples", {})
    split = settings.get("split", "?")
    if split == "chronological":
        split = "chronological " + ":".join(f"{ratio:g}" for ratio in settings.get("split_ratios", []))
    rows = [
        ("dataset", f"`{dataset or 'unknown'}` ({protocol.get('format') or 'embedded'} format)"),
        (
            "users / items / interactions",
            " / ".join(f"{stats.get(k, 0):,}" for k in ("users", "items", "interactions")),
        ),
        ("samples (train / validation / test)", " / ".join(f"{n:,}" for n in samples.values())),
        ("k-core", settings.get("k_core")),
        ("history", f"up to {settings.get('max_history')} previous items"),
        ("split", split),
        ("repeated interactions", settings.get("dedup")),
    ]
    if settings.get("cold_items_fraction"):
        rows.append(
            (
                "cold items",
                f"{settings['cold_items_fraction']:g} of the target items, seed {settings.get('cold_items_seed')}",
            )
        )
    skipped = stats.get("skipped_lines", 0)
    first = stats.get("first_skipped_line")
    rows.append(("skipped lines", f"{skipped:,}" + (f" (first: {first})" if first else "")))
    return ["## Data protocol", "", *table(("setting", "value"), rows), ""]


def metrics_section(evaluation: dict | None) -> list[str]:
    lines = ["## Test metrics", ""]
    if evaluation is None:
        return [*lines, "Not evaluated yet (run `iamrec evaluate --output MODEL_DIR/eval_results.json`).", ""]
    policy = evaluation["policy"]
    history = "excluded from" if policy["exclude_history"] else "kept in"
    names = list(next(iter(evaluation["results"].values())))
    rows = [(scorer, *(f"{metrics[n]:.4f}" for n in names)) for scorer, metrics in evaluation["results"].items()]
    return [
        *lines,
        f"Split `{evaluation['split']}`, {evaluation['num_examples']:,} examples, each ranked against all "
        f"{evaluation['num_items']:,} items; history items {history} the ranking, {policy['ties']} ties.",
        "",
        *table(("scorer", *names), rows),
        "",
    ]


def table(header: tuple[str, ...], rows: list[tuple]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows],
    ]


def _read(path: Path, holds: str, keys: tuple[str, ...] = ()) -> dict | None:
    return read_json_object(path, holds, keys) if path.is_file() else None
