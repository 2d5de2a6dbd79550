"""`iamrec export-recbole`: a prepared folder's splits as RecBole's pre-split benchmark files."""

from dataclasses import dataclass

from ..flags import flag
from . import parse_flags


@dataclass
class ExportRecBoleArguments:
    """Write <name>.{train,valid,test}.inter, so RecBole's models train and test on the same examples."""

    data_dir: str = flag(help="A folder written by `iamrec prepare`.")
    output_dir: str = flag(help="RecBole's data_path/<name>: the folder the three files go to.")
    name: str | None = flag(None, help="RecBole's dataset name, the files' prefix (default: the output folder's).")
    overwrite: bool = flag(False, help="Replace an --output_dir that holds only these files.")


def parse(argv: list[str]) -> ExportRecBoleArguments:
    (args,) = parse_flags(argv, "iamrec export-recbole", ExportRecBoleArguments)
    return args


def run(args: ExportRecBoleArguments) -> int:
    """Exports and prints the paths written, one a line."""
    from ..data.recbole_export import export_recbole

    for path in export_recbole(args.data_dir, args.output_dir, args.name, args.overwrite):
        print(path)
    return 0
