"""`--resume_from_checkpoint last`: every file a resume reads is read first, and a damaged checkpoint is skipped by
name for the previous complete one, instead of the run dying in the Trainer (`PytorchStreamReader failed ...`)."""

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from iamrec.cli import main as iamrec_main
from iamrec.data import ProtocolConfig
from iamrec.training import train
from iamrec.training.resume import last_complete_checkpoint, resumable_checkpoint
from training_fixtures import tiny_arguments, write_tiny_base_model, write_tiny_data

RESUME_FILES = [
    "adapter_model.safetensors",
    "adapter_config.json",
    "optimizer.pt",
    "scheduler.pt",
    "rng_state.pth",
    "trainer_state.json",
]
"""What the Trainer reads from a checkpoint to resume a LoRA run: weights, optimizer, scheduler, RNG and state."""


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path, Path]:
    """Data, base model and a 4-step run that saved checkpoint-2 and checkpoint-4."""
    root = tmp_path_factory.mktemp("checkpoints")
    data_dir, base = write_tiny_data(root), write_tiny_base_model(root)
    train(*tiny_arguments(data_dir, base, root / "run", max_steps=4, save_total_limit=None))
    return data_dir, base, root / "run"


def copy_with_damage(run_dir: Path, target: Path, damaged: dict[str, list[str]]) -> Path:
    """A copy of the run where each named file of each named checkpoint is cut to half its size, as a kill leaves it."""
    shutil.copytree(run_dir, target)
    for checkpoint, names in damaged.items():
        for name in names:
            path = target / checkpoint / name
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return target


def test_complete_checkpoints_are_trusted(run):
    _, _, run_dir = run
    assert last_complete_checkpoint(run_dir) == str(run_dir / "checkpoint-4")


@pytest.mark.parametrize("name", RESUME_FILES)
def test_a_checkpoint_with_a_cut_file_is_skipped_by_name(run, tmp_path, caplog, name):
    _, _, run_dir = run
    damaged = copy_with_damage(run_dir, tmp_path / "run", {"checkpoint-4": [name]})
    with caplog.at_level("WARNING", logger="iamrec.training.resume"):
        assert last_complete_checkpoint(damaged) == str(damaged / "checkpoint-2")
    assert f"Skipping checkpoint-4: {name} is" in caplog.text


def test_a_checkpoint_without_its_rng_state_is_skipped(run, tmp_path, caplog):
    """The RNG state is written last but one: without it the resumed run would not draw the same batches."""
    _, _, run_dir = run
    damaged = copy_with_damage(run_dir, tmp_path / "run", {})
    (damaged / "checkpoint-4" / "rng_state.pth").unlink()
    with caplog.at_level("WARNING", logger="iamrec.training.resume"):
        assert last_complete_checkpoint(damaged) == str(damaged / "checkpoint-2")
    assert "Skipping checkpoint-4: rng_state.pth is missing" in caplog.text


def test_no_complete_checkpoint_left_is_one_clear_error(run, tmp_path):
    _, _, run_dir = run
    damaged = copy_with_damage(
        run_dir, tmp_path / "run", {"checkpoint-4": ["optimizer.pt"], "checkpoint-2": ["scheduler.pt"]}
    )
    with pytest.raises(FileNotFoundError, match="holds no complete checkpoint to resume from"):
        last_complete_checkpoint(damaged)


def test_a_run_whose_newest_optimizer_file_is_cut_resumes_from_the_checkpoint_before(run, tmp_path, caplog):
    data_dir, base, run_dir = run
    damaged = copy_with_damage(run_dir, tmp_path / "run", {"checkpoint-4": ["optimizer.pt"]})
    with caplog.at_level("WARNING", logger="iamrec.training.resume"):
        resumed = train(
            *tiny_arguments(data_dir, base, damaged, max_steps=4, save_total_limit=None, resume_from_checkpoint="last")
        )
    assert "Skipping checkpoint-4: optimizer.pt is truncated" in caplog.text
    steps = [entry["step"] for entry in resumed.log_history if "loss" in entry]
    assert steps == [1, 2, 3, 4] and resumed.global_step == 4  # steps 3 and 4 ran again after checkpoint-2


def test_a_damaged_checkpoint_named_by_its_path_is_one_clear_error(run, tmp_path):
    _, _, run_dir = run
    damaged = copy_with_damage(run_dir, tmp_path / "run", {"checkpoint-4": ["optimizer.pt"]})
    with pytest.raises(FileNotFoundError, match="checkpoint-4: cannot resume from it, optimizer.pt is truncated"):
        resumable_checkpoint(str(damaged / "checkpoint-4"), damaged)
    with pytest.raises(FileNotFoundError, match="it is not a folder"):
        resumable_checkpoint(str(damaged / "checkpoint-9"), damaged)
    assert resumable_checkpoint(str(damaged / "checkpoint-2"), damaged) == str(damaged / "checkpoint-2")


def test_resuming_with_settings_other_than_the_checkpoints_is_refused_naming_each(run, tmp_path):
    """Resuming with --supervision last -> every_item or other modes used to be accepted, and another dataset or
    --lora_r failed with a size-mismatch traceback."""
    data_dir, base, run_dir = run
    copy = shutil.copytree(run_dir, tmp_path / "run")
    args, training_args = tiny_arguments(data_dir, base, copy, max_steps=6, resume_from_checkpoint="last")
    changed = replace(args, supervision="every_item", lora_r=4)
    with pytest.raises(ValueError, match="other settings") as refused:
        train(changed, training_args)
    assert "supervision 'last' (now 'every_item')" in str(refused.value) and "lora_r 8 (now 4)" in str(refused.value)
    assert "max_length" not in str(refused.value)
    (tmp_path / "other").mkdir()
    other_data = write_tiny_data(tmp_path / "other", ProtocolConfig(max_history=2))
    with pytest.raises(ValueError, match="other settings: another prepared dataset;"):
        train(replace(args, data_dir=str(other_data)), training_args)
    assert sorted(path.name for path in copy.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]


def test_a_refused_resume_is_one_line_from_the_command(run, tmp_path, capsys):
    data_dir, base, run_dir = run
    copy = shutil.copytree(run_dir, tmp_path / "run")
    argv = ["train", "--data_dir", str(data_dir), "--base_model", str(base), "--output_dir", str(copy)]
    argv += ["--schedule", "hatllm", "--num_intra", "1", "--num_inter_last", "1", "--max_length", "256"]
    assert iamrec_main([*argv, "--item_mask_modes", "full", "full", "--resume_from_checkpoint", "last"]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("iamrec train: error: --resume_from_checkpoint ") and "item_mask_modes [] (now" in error


def test_a_full_disk_while_saving_a_checkpoint_says_so_and_removes_the_half_written_one(run, tmp_path, monkeypatch):
    """torch's `PytorchStreamWriter failed writing file` used to end the run in a traceback, the checkpoint left."""
    import torch

    data_dir, base, _ = run
    save = torch.save

    def save_until_full(value, path, *args, **kwargs):
        if str(path).endswith("checkpoint-4/optimizer.pt"):
            Path(path).write_bytes(b"PK\x03\x04 cut")
            raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 64 vs 0: file write failed")
        return save(value, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save_until_full)
    output = tmp_path / "run"
    with pytest.raises(
        OSError, match="no space left on device while saving in .*; removed the half-written checkpoint-4"
    ):
        train(*tiny_arguments(data_dir, base, output, max_steps=4, save_total_limit=None))
    assert sorted(path.name for path in output.glob("checkpoint-*")) == ["checkpoint-2"]
