"""Sharing a trained model: the exact folder handed to the Hub (weights, remote code, processor, card), uploaded."""

import filecmp
import fnmatch
import logging
import shutil
import tempfile
from pathlib import Path

from .atomic import staged_dir
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
INSTALLED_CODE = {
    "configuration_iamrec.py": Path(__file__).parent / "configuration_iamrec.py",
    "modeling_iamrec.py": Path(__file__).parent / "modeling_iamrec.py",
    "processing_iamrec.py": Path(__file__).parent / "tokenization" / "processing_iamrec.py",
    "collator.py": Path(__file__).parent / "tokenization" / "collator.py",
    "templates.py": Path(__file__).parent / "tokenization" / "templates.py",
}
"""The remote code a folder ships, and this installation's copy of each: Hub users run the shipped one."""

logger = logging.getLogger(__name__)


def shipped_files(model_dir: Path) -> list[Path]:
    """The files of `model_dir` that go to the Hub (and to `--folder-only`)."""
    return sorted(
        path
        for path in model_dir.iterdir()
        if path.is_file()
        and (path.name in SHIPPED_FILES or any(fnmatch.fnmatch(path.name, p) for p in SHIPPED_PATTERNS))
    )


def check_links(model_dir: Path, files: list[Path]) -> None:
    """Refuses, by name, links that lead out of the model folder: a folder cloned or unpacked from elsewhere can
    carry one, and the upload would publish the file it points to. Links into the Hugging Face cache (a downloaded
    snapshot is links to blobs) stay allowed."""
    from huggingface_hub.constants import HF_HUB_CACHE

    allowed = (model_dir.resolve(), Path(HF_HUB_CACHE).resolve())
    outside = [
        f"{path.name} -> {path.resolve()}"
        for path in files
        if not any(path.resolve().is_relative_to(root) for root in allowed)
    ]
    if outside:
        raise ValueError(
            f"{model_dir}: {'; '.join(outside)} lead(s) out of the model folder; nothing is uploaded from "
            "outside it (copy the file into the folder if it belongs to the model)"
        )


def edited_code(files: list[Path]) -> list[str]:
    """The remote code files of a folder that differ from this installation's (edited by hand, or older)."""
    return [
        path.name
        for path in files
        if path.name in INSTALLED_CODE and not filecmp.cmp(path, INSTALLED_CODE[path.name], shallow=False)
    ]


def build_hub_folder(
    model_dir: str | Path, out_dir: str | Path, repo_id: str | None = None, installed_code: bool = False
) -> Path:
    """Writes exactly what is uploaded: the model folder's shipped files plus a generated README.md.

    The folder is built beside `out_dir` and renamed into place, so a failure (a full disk) leaves nothing behind.
    With `installed_code`, the remote code is this installation's rather than the folder's.
    """
    source, target = check_model_dir(model_dir), Path(out_dir)
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} is not empty; give a new folder for the Hub upload.")
    files = shipped_files(source)
    check_links(source, files)
    edited = edited_code(files)
    if edited and not installed_code:
        logger.warning(
            "%s differ(s) from the installed iamrec's and will be published as they are "
            "(pass --installed-code to ship the installed ones)",
            ", ".join(edited),
        )
    with staged_dir(target) as staging:
        for path in files:
            shutil.copy2(INSTALLED_CODE[path.name] if installed_code and path.name in edited else path, staging)
        (staging / "README.md").write_text(model_card(source, repo_id))
    return target


def push(
    model_dir: str | Path,
    repo_id: str,
    private: bool = False,
    token: str | None = None,
    installed_code: bool = False,
) -> str:
    """Uploads the folder of `build_hub_folder` to `repo_id`; returns the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    with tempfile.TemporaryDirectory() as staging:
        folder = build_hub_folder(model_dir, Path(staging) / "upload", repo_id, installed_code)
        try:
            api.create_repo(repo_id, private=private, exist_ok=True)
            return str(api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message="Upload IAMRec model"))
        except Exception as error:
            if not is_network_error(error):
                raise
            raise ConnectionError(
                f"could not upload to the Hub repository {repo_id} ({error}); the model folder {model_dir} is kept: "
                f"push it later with `iamrec push --model {model_dir} --repo-id {repo_id}`"
            ) from error


def is_network_error(error: Exception) -> bool:
    """Whether the Hub client failed to reach or answer: it raises its HTTP library's errors (httpx, or httpx2 in
    newer releases), which are no OSError, besides its own."""
    return isinstance(error, OSError) or type(error).__module__.split(".")[0] in ("httpx", "httpx2", "requests")
