"""Moved to `iamrec.training.trainer`; its names still import from here."""

from .training.trainer import HEAD_NAME, HISTORY_KEY, RankingEvalCollator, RecommendationTrainer  # noqa: F401
