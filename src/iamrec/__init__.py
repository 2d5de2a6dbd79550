"""iamrec: item-aware attention for Llama-family sequential recommenders, as a transformers plugin."""

from transformers import AutoConfig, AutoModel, AutoProcessor

from .configuration_iamrec import IAMRecConfig, full_schedule, hatllm_schedule, iam_schedule, make_schedule
from .evaluation import ranking_metric
from .modeling_iamrec import IAMRecForSequentialRecommendation, IAMRecOutput
from .tokenization import IAMRecCollator, IAMRecProcessor, PromptTemplate

AutoConfig.register(IAMRecConfig.model_type, IAMRecConfig, exist_ok=True)
AutoModel.register(IAMRecConfig, IAMRecForSequentialRecommendation, exist_ok=True)
AutoProcessor.register(IAMRecConfig, IAMRecProcessor, exist_ok=True)
# Saved checkpoints carry `auto_map` and the Hub files, so they load with trust_remote_code where iamrec is absent.
IAMRecConfig.register_for_auto_class("AutoConfig")
IAMRecForSequentialRecommendation.register_for_auto_class("AutoModel")

__version__ = "0.1.0"

__all__ = [
    "IAMRecCollator",
    "IAMRecConfig",
    "IAMRecForSequentialRecommendation",
    "IAMRecOutput",
    "IAMRecProcessor",
    "PromptTemplate",
    "full_schedule",
    "hatllm_schedule",
    "iam_schedule",
    "make_schedule",
    "ranking_metric",
]
