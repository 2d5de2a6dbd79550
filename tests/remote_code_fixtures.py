"""Fresh interpreters where `import iamrec` fails, as on a machine of a Hub user who never installed it."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path


def run_without_iamrec(script: str, tmp_path: Path, python: str = sys.executable) -> subprocess.CompletedProcess:
    """Runs `script` in a fresh `python` where `import iamrec` fails, as on a machine that never installed it."""
    blocker = textwrap.dedent(
        """
        import importlib.abc, sys
        class _Hide(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "iamrec" or name.startswith("iamrec."):
                    raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test)")
        sys.meta_path.insert(0, _Hide())
        """
    )
    path = tmp_path / "script.py"
    path.write_text(blocker + textwrap.dedent(script))
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([python, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
