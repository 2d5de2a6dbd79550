"""Sharing a trained model: the exact folder handed to the Hub (weights, remote code, processor, card), uploaded."""

import fnmatch
import json
import shutil
import tempfile
from pathlib import Path

from huggingface_hub import ModelCard, ModelCardData

from .folders import CONFIG_FILE, EVAL_FILE, PROCESSOR_FILE, RUN_FILE, SHIPPED_FILES, SHIPPED_PATTERNS, check_model_dir


def shipped_files(model_dir: Path) -> list[Path]:
    """The files of `model_dir` that go to the Hub (and to `--folder-only`)."""
    return sorted(
        path
        for path in model_dir.iterdir()
        if path.is_file()
        and (path.name in SHIPPED_FILES or any(fnmatch.fnmatch(path.name, p) for p in SHIPPED_PATTERNS))
    )


def model_card(model_dir: Path, repo_id: str | None = None) -> str:
    """A README.md with Hub metadata, the attention schedule, the data protocol and the recorded test metrics."""
    config = json.loads((model_dir / CONFIG_FILE).read_text())
    run = json.loads((model_dir / RUN_FILE).read_text()) if (model_dir / RUN_FILE).is_file() else {}
    evaluation = json.loads((model_dir / EVAL_FILE).read_text()) if (model_dir / EVAL_FILE).is_file() else None
    protocol = run.get("data_protocol", {})
    dataset = protocol.get("dataset") or protocol.get("format") or "unknown"
    base = run.get("iamrec_arguments", {}).get("base_model", "unknown")
    metadata = ModelCardData(
        library_name="transformers",
        license="apache-2.0",
        tags=["recommendation", "sequential-recommendation", "iamrec", "hatllm", "custom_code"],
        base_model=base if "/" in base else None,  # a Hub id: run records name local folders by their name only
    )

    modes = config["item_mask_modes"]
    lines = [
        f"# {repo_id or model_dir.name}",
        "",
        f"A sequential recommender built with [iamrec](https://pypi.org/project/iamrec/): a Llama-family LLM "
        f"(base: `{base}`, {config['num_hidden_layers']} layers) whose layers use item-aware attention masks "
        "(HatLLM, arXiv 2510.10955; IAM, arXiv 2603.19693), with a head that scores all "
        f"{config['num_items']} catalog items from the last token of the prompt.",
        "",
        "## Attention schedule",
        "",
        "| layers | mode |",
        "|---|---|",
        *[f"| {span} | `{mode}` |" for span, mode in _runs(modes)],
        "",
        "## Data protocol",
        "",
        f"Dataset: `{dataset}`.",
        "",
        "```json",
        json.dumps({"settings": protocol.get("settings"), "statistics": protocol.get("statistics")}, indent=2),
        "```",
        "",
        "## Test metrics",
        "",
    ]
    if evaluation is None:
        lines.append("Not evaluated yet (run `iamrec evaluate --output MODEL_DIR/eval_results.json`).")
    else:
        names = list(next(iter(evaluation["results"].values())))
        lines += [
            f"Split `{evaluation['split']}`, {evaluation['num_examples']} examples, full-catalog ranking over "
            f"{evaluation['num_items']} items, policy `{json.dumps(evaluation['policy'])}`.",
            "",
            "| scorer | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
            *[
                f"| {scorer} | " + " | ".join(f"{metrics[n]:.4f}" for n in names) + " |"
                for scorer, metrics in evaluation["results"].items()
            ],
        ]
    lines += [
        "",
        "## Use",
        "",
        "```python",
        "from transformers import AutoModel, AutoProcessor",
        "",
        f'model = AutoModel.from_pretrained("{repo_id or "REPO"}", trust_remote_code=True)',
        f'processor = AutoProcessor.from_pretrained("{repo_id or "REPO"}", trust_remote_code=True)',
        f"inputs = processor([{json.dumps(_example_titles(model_dir))}])",
        "top = model.recommend(**inputs, k=10)",
        "print(processor.decode_items(top.item_ids[0]))",
        "```",
        "",
    ]
    return str(ModelCard("\n".join(["---", metadata.to_yaml(), "---", "", *lines])))


def _runs(modes: list[str]) -> list[tuple[str, str]]:
    """Consecutive layers with the same mode, as ("0-3", "intra") pairs."""
    runs, start = [], 0
    for index in range(1, len(modes) + 1):
        if index == len(modes) or modes[index] != modes[start]:
            runs.append((f"{start}" if index - 1 == start else f"{start}-{index - 1}", modes[start]))
            start = index
    return runs


def _example_titles(model_dir: Path) -> list[str]:
    titles = json.loads((model_dir / PROCESSOR_FILE).read_text()).get("titles", [])
    return titles[:3]


def build_hub_folder(model_dir: str | Path, out_dir: str | Path, repo_id: str | None = None) -> Path:
    """Writes exactly what is uploaded: the model folder's shipped files plus a generated README.md."""
    source, target = check_model_dir(model_dir), Path(out_dir)
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} is not empty; give a new folder for the Hub upload.")
    target.mkdir(parents=True, exist_ok=True)
    for path in shipped_files(source):
        shutil.copy2(path, target / path.name)
    (target / "README.md").write_text(model_card(source, repo_id))
    return target


def push(model_dir: str | Path, repo_id: str, private: bool = False, token: str | None = None) -> str:
    """Uploads the folder of `build_hub_folder` to `repo_id`; returns the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    with tempfile.TemporaryDirectory() as staging:
        folder = build_hub_folder(model_dir, Path(staging) / "upload", repo_id)
        api.create_repo(repo_id, private=private, exist_ok=True)
        return str(api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message="Upload IAMRec model"))
