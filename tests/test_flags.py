"""`flag`: one call declares a command-line flag's default and help text, as `HfArgumentParser` reads them."""

from dataclasses import dataclass

import pytest
from transformers import HfArgumentParser

from iamrec.flags import flag


@dataclass
class Flags:
    model: str = flag(help="A model folder.")
    layers: list[str] = flag(["q_proj", "v_proj"], help="Layers to adapt.")
    k: int = flag(10, help="How many.", aliases=["-k"])


def parse(*argv: str) -> Flags:
    (flags,) = HfArgumentParser(Flags).parse_args_into_dataclasses(args=list(argv), look_for_args_file=False)
    return flags


def test_defaults_help_and_argparse_settings_reach_the_parser():
    flags = parse("--model", "m", "-k", "3")
    assert (flags.model, flags.layers, flags.k) == ("m", ["q_proj", "v_proj"], 3)
    help_text = HfArgumentParser(Flags).format_help()
    assert "A model folder." in help_text and "Layers to adapt." in help_text and "-k K" in help_text


def test_a_flag_without_default_is_required():
    with pytest.raises(SystemExit):
        parse()


def test_a_list_default_is_copied_for_each_instance():
    first, second = parse("--model", "m"), Flags(model="m")
    first.layers.append("o_proj")
    assert second.layers == ["q_proj", "v_proj"] and parse("--model", "m").layers == ["q_proj", "v_proj"]
