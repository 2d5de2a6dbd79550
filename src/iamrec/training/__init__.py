"""Training, in one package: the arguments of `iamrec train` (`arguments`), the Trainer that validates by ranking
(`trainer`), the training loop that builds, trains and saves a model (`loop`), resuming from the last complete
checkpoint (`resume`) and the demo's and the study's budgets (`budgets`).

Data-parallel: `torchrun --nproc_per_node 2 -m iamrec.cli train ...` (gloo on CPU, nccl on GPUs).
"""

from ..tokenization.collator import SUPERVISIONS
from .arguments import IAMRecArguments, RecTrainingArguments
from .budgets import DEMO_BUDGETS, STUDY_BUDGETS, Budget, StudyBudget
from .loop import TrainResult, build_model, popularity_bias, train
from .resume import last_complete_checkpoint
from .trainer import RankingEvalCollator, RecommendationTrainer

__all__ = [
    "Budget",
    "DEMO_BUDGETS",
    "IAMRecArguments",
    "RankingEvalCollator",
    "RecTrainingArguments",
    "RecommendationTrainer",
    "STUDY_BUDGETS",
    "SUPERVISIONS",
    "StudyBudget",
    "TrainResult",
    "build_model",
    "last_complete_checkpoint",
    "popularity_bias",
    "train",
]
