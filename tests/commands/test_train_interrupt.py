"""Ctrl-C in `iamrec train`: one line saying where the last complete checkpoint is, never PyTorch's assert message."""

import os
import shutil
import signal

import pytest

from iamrec.cli import main as iamrec_main
from iamrec.training import train
from training_fixtures import tiny_arguments, write_tiny_base_model, write_tiny_data


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Data, base model and a run that saved checkpoint-2."""
    root = tmp_path_factory.mktemp("interrupt")
    data_dir, base = write_tiny_data(root), write_tiny_base_model(root)
    train(*tiny_arguments(data_dir, base, root / "run", max_steps=2, save_steps=2, eval_steps=2))
    return data_dir, base, root / "run"


def interrupted_training(inside_torch: bool):
    """What training does on Ctrl-C: a KeyboardInterrupt, or PyTorch's RuntimeError when it lands in an operation."""

    def fake_train(*arguments):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            signal.sigtimedwait([], 0)  # let the handler run here
        except KeyboardInterrupt:
            if inside_torch:
                raise RuntimeError("isDifferentiableType(variable.scalar_type()) INTERNAL ASSERT FAILED") from None
            raise

    return fake_train


@pytest.mark.parametrize("inside_torch", [False, True], ids=["keyboard-interrupt", "torch-internal-assert"])
def test_ctrl_c_names_the_last_checkpoint(run, tmp_path, monkeypatch, capsys, inside_torch):
    data_dir, base, run_dir = run
    output = shutil.copytree(run_dir, tmp_path / "run")
    monkeypatch.setattr("iamrec.training.train", interrupted_training(inside_torch))
    argv = ["train", "--data_dir", str(data_dir), "--base_model", str(base), "--output_dir", str(output)]
    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN in a job started in the background
    assert iamrec_main(argv) == 1
    error = capsys.readouterr().err
    assert "Traceback" not in error and "INTERNAL ASSERT" not in error
    assert f"iamrec train: error: interrupted; the last complete checkpoint is {output / 'checkpoint-2'}" in error
    assert signal.getsignal(signal.SIGINT) is before  # the handler is given back


def test_a_runtime_error_without_ctrl_c_stays_a_bug(run, tmp_path, monkeypatch):
    data_dir, base, _ = run

    def failing_train(*arguments):
        raise RuntimeError("a bug")

    monkeypatch.setattr("iamrec.training.train", failing_train)
    with pytest.raises(RuntimeError, match="a bug"):
        iamrec_main(["train", "--data_dir", str(data_dir), "--base_model", str(base), "--output_dir", str(tmp_path)])
