"""The wheel and the sdist carry the Hub files themselves, not the links to them that `src/iamrec/` holds: a link in an
archive points at nothing once installed (and cannot be unpacked on Windows without developer mode)."""

import os
import re
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def hub_files() -> dict[str, bytes]:
    """The files `save_pretrained` ships, by their path inside the `iamrec` package, with their bytes."""
    paths = [
        ROOT / "configuration_iamrec.py",
        ROOT / "modeling_iamrec.py",
        *sorted((ROOT / "tokenization").glob("*.py")),
    ]
    return {path.relative_to(ROOT).as_posix(): path.read_bytes() for path in paths}


def build_wheel(source: Path, out: Path) -> Path:
    """`pip wheel` of a project folder or an sdist, with the build backend installed here (no download)."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir"]
    subprocess.run([*command, "--quiet", "-w", str(out), str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = out.glob("iamrec-*.whl")
    return wheel


def build_sdist(out: Path) -> Path:
    """The sdist, from the build backend that pyproject.toml names (pip builds no sdist)."""
    backend = re.search(r'^build-backend = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE).group(1)
    script = f"import sys, {backend} as backend; print(backend.build_sdist(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-c", script, str(out)], cwd=ROOT, check=True, capture_output=True, text=True, timeout=300
    )
    return out / done.stdout.split()[-1]


def check_wheel_carries_hub_files(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        for name, content in hub_files().items():
            info = infos[f"iamrec/{name}"]
            assert stat.S_ISREG(info.external_attr >> 16) and archive.read(info) == content, name


def test_the_wheel_carries_the_hub_files_and_imports_them_from_where_it_is_unpacked(tmp_path):
    wheel = build_wheel(ROOT, tmp_path / "wheel")
    check_wheel_carries_hub_files(wheel)

    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    script = "import iamrec.modeling_iamrec as m, iamrec.tokenization as t; print(m.__file__); print(t.__file__)"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},  # not src/: the unpacked wheel alone
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    package = site / "iamrec"
    assert done.stdout.split() == [str(package / "modeling_iamrec.py"), str(package / "tokenization" / "__init__.py")]


def test_the_sdist_carries_the_hub_files_and_builds_a_wheel_with_them(tmp_path):
    sdist = build_sdist(tmp_path)
    with tarfile.open(sdist) as archive:
        members = {member.name.partition("/")[2]: member for member in archive.getmembers()}
        for name, content in hub_files().items():
            member = members[f"src/iamrec/{name}"]
            assert member.isfile() and archive.extractfile(member).read() == content, name
    assert not [name for name, member in members.items() if member.issym() or member.islnk()]

    check_wheel_carries_hub_files(build_wheel(sdist, tmp_path / "wheel"))
