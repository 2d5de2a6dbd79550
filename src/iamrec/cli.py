"""The `iamrec` command: dispatches `iamrec <command> ...` to the module that implements the command."""

import importlib
import sys

COMMANDS = {
    "prepare": ("iamrec.data.cli", "Turn an interaction log into train/validation/test splits and an item catalog."),
    "train": ("iamrec.train", "Fine-tune an IAMRec model on prepared splits with the HF Trainer (LoRA + head)."),
    "evaluate": ("iamrec.evaluate_model", "Full-catalog HR/NDCG/MRR of a model and baselines on a split, as JSON."),
    "recommend": ("iamrec.inference", "Top-k recommendations for a history of titles."),
    "push": ("iamrec.hub", "Upload a trained model (weights, remote code, processor, model card) to the Hub."),
    "demo": ("iamrec.demo", "The whole journey on ML-100K: prepare, train, evaluate, save, reload, recommend."),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        lines = [f"  {name:<10} {summary}" for name, (_, summary) in COMMANDS.items()]
        print("usage: iamrec <command> [options]\n\ncommands:\n" + "\n".join(lines))
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main())
