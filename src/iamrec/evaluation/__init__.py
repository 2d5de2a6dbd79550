"""Evaluation, the layer every scorer builds on: ranking math and policies (`ranking`), what a scorer is and the
scorer of a model (`scorers`), ranking a scorer over a split (`runner`) and the `evaluate.Metric` wrapper (`metric`).
It imports nothing of the baselines (`iamrec.baselines` builds on it); a model folder beside the baselines is
`iamrec.comparison`, above both.
"""

from .metric import RankingMetric, ranking_metric
from .ranking import DEFAULT_KS, EvaluationPolicy, RankingAccumulator, metrics_from_ranks, target_ranks
from .runner import evaluate_scorer, rank_targets
from .scorers import CandidateScorer, ModelScorer, Scorer

__all__ = [
    "CandidateScorer",
    "DEFAULT_KS",
    "EvaluationPolicy",
    "ModelScorer",
    "RankingAccumulator",
    "RankingMetric",
    "Scorer",
    "evaluate_scorer",
    "metrics_from_ranks",
    "rank_targets",
    "ranking_metric",
    "target_ranks",
]
