"""The `iamrec` command: dispatches `iamrec <command> ...` to `iamrec.commands.<command>`, one error line per failure.

A user error (bad flags, missing or malformed files, unusable data or model) prints `iamrec <command>: error: ...` and
exits 2 when the command line is wrong, 1 when the data or the model is. `--debug` or `IAMREC_DEBUG=1` shows the
traceback instead; anything else (a bug) keeps its traceback.
"""

import importlib
import os
import sys

COMMANDS = {
    "prepare": "Turn an interaction log into train/validation/test splits and an item catalog.",
    "export-recbole": "A prepared folder's splits as RecBole benchmark files (<name>.{train,valid,test}.inter).",
    "train": "Fine-tune an IAMRec model on prepared splits with the HF Trainer (LoRA + head).",
    "evaluate": "Full-catalog HR/NDCG/MRR of a model and baselines on a split, as JSON.",
    "recommend": "Top-k recommendations for a history of titles or item ids.",
    "push": "Upload a trained model (weights, remote code, processor, model card) to the Hub.",
    "demo": "The whole journey on ML-100K: prepare, train, evaluate, save, reload, recommend.",
    "study": "A grid of configurations x seeds, trained, evaluated and summarised with paired tests.",
    "analyze-attention": "Where each layer's attention goes (own item, other items, prompt), as JSON and a plot.",
}
USER_ERRORS = (ValueError, OSError, EOFError, ImportError)
"""What bad input raises: ValueError (bad values, malformed data), OSError (missing, unreadable or unwritable files),
EOFError (truncated compressed files), ImportError (a missing optional package or a too old transformers)."""
USAGE, DATA = 2, 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv or os.environ.get("IAMREC_DEBUG", "") not in ("", "0")
    argv = [arg for arg in argv if arg != "--debug"]
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        lines = [f"  {name:<17} {summary}" for name, summary in COMMANDS.items()]
        print("usage: iamrec <command> [options] [--debug]\n\ncommands:\n" + "\n".join(lines))
        return 0 if argv and argv[0] in ("-h", "--help") else USAGE
    name, flags = argv[0], argv[1:]
    command = importlib.import_module(f"iamrec.commands.{name.replace('-', '_')}")
    try:
        arguments = command.parse(flags)
    except USER_ERRORS as error:
        return report(name, error, USAGE, debug, hint=f"see `iamrec {name} --help`")
    try:
        return command.run(arguments) or 0
    except USER_ERRORS as error:
        return report(name, error, DATA, debug, hint="add --debug for the traceback")


def report(command: str, error: Exception, code: int, debug: bool, hint: str) -> int:
    """Prints the one error line (or re-raises under --debug) and returns the exit code."""
    if debug:
        raise error
    message = " ".join(str(error).split()) or type(error).__name__
    print(f"iamrec {command}: error: {message} ({hint})", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
