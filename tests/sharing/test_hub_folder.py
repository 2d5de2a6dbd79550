"""What `iamrec push` builds: nothing from outside the model folder, nothing half-written, edited remote code named."""

import errno
import filecmp
import os
import shutil
from pathlib import Path

import pytest
from huggingface_hub.constants import HF_HUB_CACHE

from iamrec import hub
from iamrec.cli import main as iamrec_main
from iamrec.folders import EVAL_FILE
from iamrec.training import train
from training_fixtures import tiny_arguments, write_tiny_base_model, write_tiny_data


@pytest.mark.parametrize("name", ["merges.txt", EVAL_FILE])
def test_a_link_out_of_the_model_folder_is_refused_by_name_and_nothing_is_written(folder, tmp_path, name, capsys):
    """A link to a private file used to be followed: its content was copied into the upload folder."""
    secret = tmp_path / "secret"
    secret.write_text('{"token": "SECRET-4711"}')
    (folder / name).unlink(missing_ok=True)
    (folder / name).symlink_to(secret)
    out = tmp_path / "out"
    argv = ["push", "--model", str(folder), "--repo-id", "me/x", "--folder-only", str(out)]
    assert iamrec_main(argv) == 1
    error = capsys.readouterr().err
    assert f"{name} -> {secret}" in error and "Traceback" not in error
    assert not out.exists()
    assert not any(
        "SECRET" in path.read_text(errors="ignore")
        for path in tmp_path.rglob("*")
        if path.is_file() and not path.is_symlink() and path != secret
    )


def test_a_snapshot_of_the_hugging_face_cache_is_pushed_through_its_links(model_dir, tmp_path):
    """A downloaded model folder is links from snapshots/<revision>/ to ../../blobs/: they must keep working."""
    repo = Path(HF_HUB_CACHE) / "models--someone--iamrec-tiny"
    snapshot = repo / "snapshots" / "0123abc"
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for path in model_dir.iterdir():
        shutil.copy2(path, repo / "blobs" / f"blob-{path.name}")
        (snapshot / path.name).symlink_to(Path("..", "..", "blobs", f"blob-{path.name}"))
    uploaded = hub.build_hub_folder(snapshot, tmp_path / "upload")
    for path in hub.shipped_files(model_dir):
        assert not (uploaded / path.name).is_symlink() and filecmp.cmp(uploaded / path.name, path, shallow=False)


def test_a_full_disk_leaves_no_half_built_folder_and_the_rerun_succeeds(folder, tmp_path, monkeypatch, capsys):
    """The upload folder used to be written in place: a truncated model.safetensors, no README, and a rerun refused."""
    copy = shutil.copy2

    def copy_until_full(source, target):
        if Path(source).name == "model.safetensors":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        return copy(source, target)

    monkeypatch.setattr("iamrec.hub.shutil.copy2", copy_until_full)
    out = tmp_path / "out"
    argv = ["push", "--model", str(folder), "--repo-id", "me/x", "--folder-only", str(out)]
    assert iamrec_main(argv) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert not out.exists() and [path.name for path in tmp_path.iterdir()] == ["model"]
    monkeypatch.setattr("iamrec.hub.shutil.copy2", copy)
    assert iamrec_main(argv) == 0
    assert {"README.md", "model.safetensors"} <= set(os.listdir(out))


def test_edited_remote_code_is_named_and_the_installed_code_can_be_shipped(folder, tmp_path, caplog):
    """An edited modeling_iamrec.py used to be re-published verbatim, without a word."""
    with (folder / "modeling_iamrec.py").open("a") as handle:
        handle.write("\nprint('edited')\n")
    with caplog.at_level("WARNING", logger="iamrec.hub"):
        as_is = hub.build_hub_folder(folder, tmp_path / "as-is")
    assert "modeling_iamrec.py differ(s) from the installed iamrec's" in caplog.text
    assert "configuration_iamrec.py" not in caplog.text
    assert "print('edited')" in (as_is / "modeling_iamrec.py").read_text()
    caplog.clear()
    installed = tmp_path / "installed"
    argv = ["push", "--model", str(folder), "--repo-id", "me/x", "--folder-only", str(installed), "--installed-code"]
    assert iamrec_main(argv) == 0
    assert filecmp.cmp(installed / "modeling_iamrec.py", hub.INSTALLED_CODE["modeling_iamrec.py"], shallow=False)
    assert "differ" not in caplog.text


def test_an_unedited_folder_warns_of_nothing(model_dir, tmp_path, caplog):
    with caplog.at_level("WARNING", logger="iamrec.hub"):
        hub.build_hub_folder(model_dir, tmp_path / "upload")
    assert not caplog.text


@pytest.fixture
def unreachable_hub(monkeypatch):
    """A Hub endpoint where nothing listens (a refused connection, at once), and a token, so the client tries."""
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")


def test_an_unreachable_hub_is_one_line_saying_the_model_is_kept(model_dir, unreachable_hub, capsys):
    """It used to end in the HTTP library's traceback."""
    assert iamrec_main(["push", "--model", str(model_dir), "--repo-id", "me/x"]) == 1
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert "could not upload to the Hub repository me/x (" in error and f"the model folder {model_dir} is kept" in error


def test_training_with_push_to_hub_keeps_the_model_when_the_hub_is_unreachable(tmp_path, unreachable_hub):
    data_dir, base = write_tiny_data(tmp_path), write_tiny_base_model(tmp_path)
    arguments = tiny_arguments(data_dir, base, tmp_path / "run", max_steps=2, push_to_hub=True, hub_model_id="me/x")
    with pytest.raises(ConnectionError, match="is kept: push it later with `iamrec push --model "):
        train(*arguments)
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()
