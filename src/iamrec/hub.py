"""Sharing a trained model: the exact folder handed to the Hub (weights, remote code, processor, card), uploaded."""

import fnmatch
import shutil
import tempfile
from pathlib import Path

from .folder_checks import check_model_dir
from .folders import CONFIG_FILE, EVAL_FILE, PROCESSOR_FILE, RUN_FILE, TOKENIZER_FILE, WEIGHTS_FILE
from .model_card import model_card

SHIPPED_FILES = (
    CONFIG_FILE,
    WEIGHTS_FILE,
    "model.safetensors.index.json",
    "configuration_iamrec.py",
    "modeling_iamrec.py",
    PROCESSOR_FILE,
    "processing_iamrec.py",
    "collator.py",
    "templates.py",
    TOKENIZER_FILE,
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.jinja",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    EVAL_FILE,
    RUN_FILE,
)
"""What a Hub user needs from a model folder, by name; anything else there (notes, credentials) stays behind."""
SHIPPED_PATTERNS = ("model-*-of-*.safetensors",)  # sharded weights


def shipped_files(model_dir: Path) -> list[Path]:
    """The files of `model_dir` that go to the Hub (and to `--folder-only`)."""
    return sorted(
        path
        for path in model_dir.iterdir()
        if path.is_file()
        and (path.name in SHIPPED_FILES or any(fnmatch.fnmatch(path.name, p) for p in SHIPPED_PATTERNS))
    )


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
