"""Registers IAMRec with transformers' Auto classes on import: local folders load without trust_remote_code, and
saved checkpoints carry `auto_map` and the Hub files, so they load with trust_remote_code where iamrec is absent."""

from transformers import AutoConfig, AutoModel, AutoProcessor

from .configuration_iamrec import IAMRecConfig
from .modeling_iamrec import IAMRecForSequentialRecommendation
from .tokenization import IAMRecProcessor

AutoConfig.register(IAMRecConfig.model_type, IAMRecConfig, exist_ok=True)
AutoModel.register(IAMRecConfig, IAMRecForSequentialRecommendation, exist_ok=True)
AutoProcessor.register(IAMRecConfig, IAMRecProcessor, exist_ok=True)
IAMRecConfig.register_for_auto_class("AutoConfig")
IAMRecForSequentialRecommendation.register_for_auto_class("AutoModel")
