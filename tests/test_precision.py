"""bf16 where the chip multiplies it fast, fp32 elsewhere, and the user's choice taken as given."""

import pytest
import torch

from iamrec import precision


def cpuinfo(tmp_path, flags: str):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 {flags}\n\nprocessor\t: 1\n")
    return path


@pytest.mark.parametrize(
    ("flags", "fast"),
    [("avx2 avx512f amx_bf16 amx_tile", True), ("avx512f avx512_bf16", True), ("avx2 avx512f", False), ("", False)],
)
def test_fast_bf16_is_read_from_the_cpu_flags(tmp_path, flags, fast):
    assert precision.cpu_has_fast_bf16.__wrapped__(cpuinfo(tmp_path, flags)) is fast


def test_a_machine_without_cpuinfo_computes_in_float32(tmp_path):
    assert precision.cpu_has_fast_bf16.__wrapped__(tmp_path / "absent") is False


def test_auto_follows_the_cpu_and_explicit_choices_win(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: True)
    assert precision.resolve_dtype("auto", cpu) == torch.bfloat16
    assert precision.resolve_dtype("float32", cpu) == torch.float32
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: False)
    assert precision.resolve_dtype("auto", cpu) == torch.float32
    assert precision.resolve_dtype("bfloat16", cpu) == torch.bfloat16
    with pytest.raises(ValueError, match="Unknown dtype 'float16'; choose auto, float32, bfloat16"):
        precision.resolve_dtype("float16", cpu)
