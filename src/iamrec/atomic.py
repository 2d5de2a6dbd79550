"""Writing a folder or a JSON file so that readers see the old one or the complete new one, never half of one."""

import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def sibling_dir(target: Path, tag: str) -> Path:
    """A new hidden directory next to `target` (same filesystem, so renames are atomic; mode from the umask)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    path = target.parent / f".{target.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}"
    path.mkdir()
    return path


def remove_stale_siblings(target: Path) -> None:
    """Deletes the staging folders of `target` left by processes that are gone (killed mid-write)."""
    for path in target.parent.glob(f".{target.name}.*-*-*"):
        tag_and_pid = path.name[len(target.name) + 2 :].rsplit("-", 2)
        if len(tag_and_pid) != 3 or tag_and_pid[0] not in ("tmp", "old") or not tag_and_pid[1].isdigit():
            continue
        try:
            os.kill(int(tag_and_pid[1]), 0)
        except ProcessLookupError:  # no such process: nobody will finish or remove this folder
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:  # a live process of another user
            pass


def check_replaceable(target: Path) -> Path:
    """`target` as an absolute path ("." has no name to stage beside); refuses the current folder or one holding it."""
    target = Path(os.path.abspath(target))  # abspath, not resolve: a link stays a link
    if Path.cwd() == target or target in Path.cwd().parents:
        raise ValueError(
            f"{target} is the current folder or holds it; write to a new folder instead (it is built "
            "beside the target and renamed into place)"
        )
    return target


@contextmanager
def staged_dir(target: Path, before_replace: Callable[[], None] | None = None) -> Iterator[Path]:
    """Yields a staging folder; on success it replaces `target` by renames, on any failure it is removed.

    An existing `target` is first moved aside and deleted only after the new folder is in place. `before_replace`
    runs just before the swap (e.g. to re-check that overwriting is still allowed).
    """
    target = check_replaceable(target)
    if target.parent.is_dir():
        remove_stale_siblings(target)
    staging = sibling_dir(target, "tmp")
    try:
        yield staging
        if before_replace is not None:
            before_replace()
        if target.exists():
            retired = sibling_dir(target, "old")
            os.rename(target, retired / target.name)
            os.rename(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_json_atomic(path: Path, value: object, indent: int = 1) -> None:
    """Writes a temporary file beside `path` and renames it into place: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        temporary.write_text(json.dumps(value, indent=indent, default=str) + "\n")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
