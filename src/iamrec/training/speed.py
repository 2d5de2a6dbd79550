"""The model-side switches of the fast training path: frozen weights held in bf16, decoder layers compiled."""

import logging

import torch

logger = logging.getLogger(__name__)


def hold_frozen_weights_in(model: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """Casts the weights that do not train (the LoRA-adapted base) to `dtype`; trained ones stay float32 masters.

    In bfloat16 the model then runs under bf16 autocast (`--bf16`), which computes the adapters in bf16 too: their
    inputs are left in bf16 (PEFT would copy each into float32 first), and the head scores in float32 on its own.
    """
    if dtype == torch.float32:
        return model
    for parameter in model.parameters():
        if not parameter.requires_grad:
            parameter.data = parameter.data.to(dtype)
    for module in model.modules():
        if hasattr(module, "cast_input_dtype_enabled"):  # PEFT's adapter layers
            module.cast_input_dtype_enabled = False
    return model


def compile_decoder_layers(model: torch.nn.Module) -> bool:
    """Compiles each decoder layer with torch.compile (regional compilation: one graph serves every layer, the masks,
    embeddings and head stay eager); returns False, with a warning, where the compiler cannot run here.

    The first layer's input is made to require grad like every later layer's, so that the layers share one compiled
    graph instead of recompiling for it.
    """
    try:
        torch.compile(torch.mul)(torch.ones(2), 2)  # inductor needs a working C++ (or Triton) compiler
    except Exception as error:  # any compiler failure means: run eagerly
        logger.warning("Decoder layers run uncompiled: torch.compile does not work here (%s).", str(error)[:200])
        return False
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    base.enable_input_require_grads()
    for layer in base.layers:
        layer.compile()
    return True
