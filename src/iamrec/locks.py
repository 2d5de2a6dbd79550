"""One process at a time per output folder: two runs on one folder would share checkpoints and result files and
silently overwrite each other's, so the second one is refused, naming the folder and the process that holds it."""

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from .folders import LOCK_FILE, LOCK_HOLDER_FILE


class FolderInUseError(OSError):
    """Another process holds the folder's lock."""


@contextmanager
def folder_lock(folder: str | os.PathLike, command: str) -> Iterator[Path]:
    """Holds `folder`'s lock (creating the folder) while the block runs; refuses at once if another process holds it.

    The lock is the operating system's (`flock`), so it ends with its process, even a killed one; the holder file
    beside it only says who holds it.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise FolderInUseError(
            f"{folder} is in use by {lock_holder(folder)}; wait for it to end, or choose another output folder"
        ) from None
    holder = folder / LOCK_HOLDER_FILE
    try:
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        holder.write_text(f"{command} (pid {os.getpid()} on {socket.gethostname()}, since {started})\n")
        yield folder
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def lock_holder(folder: Path) -> str:
    """Who holds `folder`'s lock, as its holder wrote it (`iamrec train (pid 4711 on host, since ...)`)."""
    try:
        return (folder / LOCK_HOLDER_FILE).read_text().strip() or "another process"
    except OSError:  # the holder is just starting or ending
        return "another process"
