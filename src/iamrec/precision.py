"""Which dtype a run computes in: bfloat16 where the chip multiplies it fast (CUDA devices that support it, CPUs with
AMX or AVX-512 BF16), float32 elsewhere, unless the user says which."""

from functools import cache
from pathlib import Path

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
DTYPE_CHOICES = ("auto", *DTYPES)
FAST_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
"""CPU feature flags (as /proc/cpuinfo names them) whose bf16 matrix products run several times faster than fp32;
without them, oneDNN emulates bf16 and it is slower than fp32."""


@cache
def cpu_has_fast_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU advertises AMX or AVX-512 BF16 (read from /proc/cpuinfo; False where there is none)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    flags = {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}
    return any(flag in flags for flag in FAST_BF16_CPU_FLAGS) and torch.backends.mkldnn.is_available()


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """`auto` is bfloat16 on a CUDA device that supports it or a CPU with fast bf16 (`cpu_has_fast_bf16`), float32
    otherwise; `float32` and `bfloat16` are taken as they are."""
    if dtype == "auto":
        if device.type == "cuda":
            supported = torch.cuda.is_bf16_supported()
        else:
            supported = device.type == "cpu" and cpu_has_fast_bf16()
        return torch.bfloat16 if supported else torch.float32
    if dtype not in DTYPES:
        raise ValueError(f"Unknown dtype {dtype!r}; choose {', '.join(DTYPE_CHOICES)}.")
    return DTYPES[dtype]
