"""Where one training step of the default path waits on the device: every host-device synchronisation of a forward,
backward and optimizer step, by the line of code that caused it.

    python benchmarks/sync_points.py --data-dir runs/ml-100k --device cuda --layers 30
    python benchmarks/sync_points.py --data-dir runs/ml-100k --layers 2        # on a CPU: the calls that would sync

On CUDA, torch.cuda.set_sync_debug_mode("warn") reports each synchronisation, including those inside operators
(boolean-mask indexing, `nonzero`). On a CPU nothing synchronises; the script then records the Python-level calls that
would (`Tensor.item`, `tolist`, `bool`, `nonzero`). Writes benchmarks/results/sync_points_<device>.json (or --output).
"""

import argparse
import traceback
import warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import torch
from environment import RESULTS, command_line, environment, public_path, write_result
from supervision_throughput import timed_step
from training_speed import budget_batches, every_item_setup
from transformers import set_seed

from iamrec import IAMRecArguments
from iamrec.training import build_model

WATCHED = ("item", "tolist", "__bool__", "nonzero")


def caller() -> str:
    """The innermost frame outside torch and this script, as `file:line function`."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        path = Path(frame.filename)
        if "torch" not in path.parts and path.name != Path(__file__).name:
            return f"{'/'.join(path.parts[-2:])}:{frame.lineno} {frame.name}"
    return "?"


@contextmanager
def recorded_calls(counts: Counter):
    """Counts, by caller, the calls of the tensor methods that synchronise with a device."""
    originals = {name: getattr(torch.Tensor, name) for name in WATCHED}

    def watching(name):
        def method(self, *args, **kwargs):
            counts[f"{name}: {caller()}"] += 1
            return originals[name](self, *args, **kwargs)

        return method

    for name in WATCHED:
        setattr(torch.Tensor, name, watching(name))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-tokens", type=int, default=4096)
    parser.add_argument("--output")
    args = parser.parse_args()

    base, processor, collator, popular, sequences, lengths = every_item_setup(args.data_dir, args.layers)
    batches = [collator([sequences[row] for row in rows]) for rows in budget_batches(2, lengths, args.max_tokens, 0)]
    set_seed(0)
    model_args = IAMRecArguments(data_dir=args.data_dir, rec_head_norm="batch", num_intra=1, num_inter_last=1)
    model = build_model(model_args, base, processor, popular, torch.bfloat16).to(args.device).train()
    optimizer = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=1e-3, fused=True)
    timed_step(model, optimizer, batches[0], args.device, True)  # warm-up: lazy initialisation syncs once

    counts: Counter = Counter()
    on_cuda = args.device.startswith("cuda")
    with warnings.catch_warnings(record=True) as caught, recorded_calls(counts):
        warnings.simplefilter("always")
        if on_cuda:
            torch.cuda.set_sync_debug_mode("warn")
        seconds = timed_step(model, optimizer, batches[1], args.device, True)
        if on_cuda:
            torch.cuda.set_sync_debug_mode(0)
    device_syncs = Counter(
        f"{Path(w.filename).name}:{w.lineno}" for w in caught if "synchroniz" in str(w.message).lower()
    )
    output = args.output or RESULTS / f"sync_points_{'cuda' if on_cuda else 'cpu'}.json"
    write_result(
        {
            "environment": environment(args.device),
            "command": command_line(),
            "settings": {
                **{key: str(value) for key, value in vars(args).items() if key != "output"},
                "data_dir": public_path(args.data_dir),
            },
            "step_seconds": seconds,
            "device_synchronisations": dict(device_syncs.most_common()) if on_cuda else None,
            "python_calls_that_synchronise": dict(counts.most_common()),
        },
        output,
    )
    print(dict(counts.most_common()), dict(device_syncs.most_common()), sep="\n")
    print(f"Wrote {output}")


if __name__ == "__main__":
    main()
