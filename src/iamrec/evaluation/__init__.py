"""Evaluation, in one place: ranking math and policies (`ranking`), the scorer of a model (`scorers`), the baselines
(`baselines`), the runner over a split (`runner`) and the `evaluate.Metric` wrapper (`metric`)."""

from .baselines import MostPopular, Random
from .metric import RankingMetric, ranking_metric
from .ranking import DEFAULT_KS, EvaluationPolicy, RankingAccumulator, metrics_from_ranks, target_ranks
from .runner import BASELINES, evaluate_all, evaluate_scorer
from .scorers import CandidateScorer, ModelScorer, Scorer

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
