#!/usr/bin/env bash
# A virtual environment for benchmarks/recbole_models.py: the pinned set (scripts/setup.sh) plus RecBole 1.2.1 with
# the packages it imports (constraints/recbole.txt). Kept apart from .venv, whose tests and pandas it would change.
#
#   bash benchmarks/recbole_setup.sh [VENV]   # default .venv-recbole
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv-recbole}
bash scripts/setup.sh pinned "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints/recbole.txt \
  pandas colorlog colorama texttable tensorboard scipy scikit-learn
