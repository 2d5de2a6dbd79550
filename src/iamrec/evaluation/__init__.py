"""Evaluation, in one place: ranking math and policies (`ranking`), what a scorer is and the scorer of a model
(`scorers`), running a scorer over a split (`runner`), a model folder beside the baselines (`report`) and the
`evaluate.Metric` wrapper (`metric`). The baselines themselves live in `iamrec.baselines`, which builds on this package;
`MostPopular`, `Random`, `BASELINES` and `evaluate_all` are still importable from here (loaded on first use, so that
the two packages do not import each other).
"""

import importlib
from typing import Any

from .metric import RankingMetric, ranking_metric
from .ranking import DEFAULT_KS, EvaluationPolicy, RankingAccumulator, metrics_from_ranks, target_ranks
from .runner import evaluate_scorer
from .scorers import CandidateScorer, ModelScorer, Scorer

_LATER = {
    "BASELINES": "..baselines",
    "MostPopular": "..baselines",
    "Random": "..baselines",
    "evaluate_all": ".report",
}

__all__ = [
    "BASELINES",
    "CandidateScorer",
    "DEFAULT_KS",
    "EvaluationPolicy",
    "ModelScorer",
    "MostPopular",
    "Random",
    "RankingAccumulator",
    "RankingMetric",
    "Scorer",
    "evaluate_all",
    "evaluate_scorer",
    "metrics_from_ranks",
    "ranking_metric",
    "target_ranks",
]


def __getattr__(name: str) -> Any:
    if name not in _LATER:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LATER[name], __name__), name)
