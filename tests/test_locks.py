"""One process per output folder: a second `iamrec train` or `iamrec study` there is refused, naming the holder, and
study workers end with their study."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from iamrec.cli import main as iamrec_main
from iamrec.folders import LOCK_HOLDER_FILE
from iamrec.locks import FolderInUseError, folder_lock
from iamrec.training import train
from training_fixtures import tiny_arguments, write_tiny_base_model, write_tiny_data


@pytest.fixture
def held(tmp_path):
    """A folder whose lock another process holds until the test ends."""
    folder = tmp_path / "shared"
    script = f"from iamrec.locks import folder_lock\nwith folder_lock({str(folder)!r}, 'iamrec train'):\n input()\n"
    holder = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, text=True)
    while not (folder / LOCK_HOLDER_FILE).exists():
        assert holder.poll() is None, "the holder ended before taking the lock"
        time.sleep(0.05)
    yield folder, holder.pid
    holder.communicate("\n")


def test_a_second_training_on_a_held_folder_is_refused_naming_the_holder(held, tmp_path):
    """Two runs on one --output_dir used to share checkpoint-2/4/6, the second model replacing the first."""
    folder, pid = held
    data_dir, base = write_tiny_data(tmp_path), write_tiny_base_model(tmp_path)
    with pytest.raises(FolderInUseError, match=f"{folder} is in use by iamrec train \\(pid {pid} on "):
        train(*tiny_arguments(data_dir, base, folder, max_steps=2))
    assert sorted(path.name for path in folder.iterdir()) == [".iamrec.lock", LOCK_HOLDER_FILE]


def test_a_second_study_on_a_held_folder_is_one_line(held, tmp_path, capsys):
    """Two studies on one folder used to both report their runs finished, with one study's results in both."""
    folder, pid = held
    data_dir, base = write_tiny_data(tmp_path), write_tiny_base_model(tmp_path)
    argv = ["study", "--data-dir", str(data_dir), "--output-dir", str(folder), "--budget", "tiny"]
    capsys.readouterr()
    assert iamrec_main([*argv, "--base-model", str(base), "--grid", "most_popular", "--seeds", "0"]) == 1
    error = capsys.readouterr().err.strip()
    assert (
        error.startswith(f"iamrec study: error: {folder} is in use by iamrec train (pid {pid} ") and "\n" not in error
    )
    assert not (folder / "results").exists()


def test_the_lock_ends_with_its_holder(tmp_path):
    with folder_lock(tmp_path, "first"):
        with pytest.raises(FolderInUseError, match="in use by first"):
            with folder_lock(tmp_path, "second"):
                pass
    with folder_lock(tmp_path, "third"):
        assert "third (pid" in (tmp_path / LOCK_HOLDER_FILE).read_text()
    assert not (tmp_path / LOCK_HOLDER_FILE).exists()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=lambda stop: stop.name)
def test_study_workers_end_with_the_study(tmp_path, stop):
    """Workers of a killed `--parallel 2` study used to train on and write results, then sit at 700 MB each."""
    pids = tmp_path / "pids"
    script = textwrap.dedent(
        f"""
        import os, pathlib, time
        from iamrec.study.runs import worker_pool

        def work(_):
            with open({str(pids)!r}, "a") as handle:
                handle.write(f"{{os.getpid()}}\\n")
            time.sleep(600)

        if __name__ == "__main__":
            pool = worker_pool(2)
            futures = [pool.submit(work, index) for index in range(2)]
            time.sleep(600)
        """
    )
    (tmp_path / "study_like.py").write_text(script)
    parent = subprocess.Popen([sys.executable, str(tmp_path / "study_like.py")], cwd=tmp_path)
    while len(pids.read_text().split() if pids.exists() else []) < 2:
        assert parent.poll() is None
        time.sleep(0.1)
    workers = [int(pid) for pid in pids.read_text().split()]
    os.kill(parent.pid, stop)
    parent.wait()
    for _ in range(300):  # each worker notices within its one-second watch interval
        alive = [pid for pid in workers if is_alive(pid)]
        if not alive:
            break
        time.sleep(0.1)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "workers outlived their study"


def is_alive(pid: int) -> bool:
    """Whether `pid` still runs (a worker reparented to init is reaped there, not by this test)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie waiting for its reaper has ended
        return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
