"""Turning item titles into item-aware model inputs: prompt template, collator and processor.

These files also ship next to a trained model (loaded with `trust_remote_code`), so they import only the standard
library, torch, transformers and each other (relative imports), and stay flat.
"""

from .collator import IAMRecCollator, TitleTokenCache
from .processing_iamrec import IAMRecProcessor
from .templates import PromptTemplate

__all__ = ["IAMRecCollator", "IAMRecProcessor", "PromptTemplate", "TitleTokenCache"]
