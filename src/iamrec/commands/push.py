"""`iamrec push`: upload a trained model folder's shipped files and a generated model card to the Hub."""

from dataclasses import dataclass

from ..flags import flag
from . import parse_flags


@dataclass
class PushArguments:
    """Upload a trained model (weights, remote code, processor, model card) to the Hub."""

    model: str = flag(help="A model folder written by `iamrec train`.")
    repo_id: str = flag(help="The Hub repository, e.g. user/iamrec-ml-100k.")
    private: bool = flag(False, help="Create the repository as private.")
    folder_only: str | None = flag(None, help="Only write the upload folder here; upload nothing.")
    installed_code: bool = flag(
        False,
        help="Ship this installation's remote code (modeling_iamrec.py, ...) instead of the folder's, "
        "where they differ.",
    )


def parse(argv: list[str]) -> PushArguments:
    (args,) = parse_flags(argv, "iamrec push", PushArguments)
    return args


def run(args: PushArguments) -> int:
    from ..hub import build_hub_folder, push

    if args.folder_only:
        print(build_hub_folder(args.model, args.folder_only, args.repo_id, args.installed_code))
    else:
        print(push(args.model, args.repo_id, private=args.private, installed_code=args.installed_code))
    return 0
