"""The `iamrec` command's error contract: a user error is one line `iamrec <cmd>: error: ...` with a hint, exit code 2
for a wrong command line and 1 for bad data or a bad model, and no traceback unless `--debug` asks for it.

Each case below gave a traceback or a misleading message before (reliability issue, item 11); its id is the repro.
"""

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from iamrec.cli import main as iamrec_main
from iamrec.commands.recommend import history_items
from tokenizer_fixtures import TITLES

INTERACTIONS = "user,item,timestamp\n" + "".join(f"u{u},i{i},{100 * u + i}\n" for u in range(6) for i in range(5))
ITEMS = "item,title\n" + "".join(f"i{i},{TITLES[i]}\n" for i in range(5))


@pytest.fixture
def files(tmp_path) -> Path:
    """A small valid log and catalog, and the bad inputs of the cases, in `tmp_path`."""
    (tmp_path / "log.csv").write_text(INTERACTIONS)
    (tmp_path / "items.csv").write_text(ITEMS)
    (tmp_path / "not-gzip.csv.gz").write_text(INTERACTIONS)
    (tmp_path / "truncated.csv.gz").write_bytes(gzip.compress(INTERACTIONS.encode() * 50)[:200])
    (tmp_path / "header-only.csv").write_text("user,item,timestamp\n")
    (tmp_path / "all-bad.csv").write_text("user,item,timestamp\nu1,i1,yesterday\nu2,i2,today\n")
    (tmp_path / "wrong-type.yaml").write_text("data_dir: data\nmax_steps: many\n")
    (tmp_path / "not-yaml.yaml").write_text("data_dir: data\nbad: : indent\n")
    (tmp_path / "python-tag.yaml").write_text('data_dir: data\nrun_name: !!python/object/apply:os.system ["true"]\n')
    (tmp_path / "unknown-key.yaml").write_text("data_dir: data\nunderflow_overflow: true\n")
    (tmp_path / "not-json.json").write_text('{"data_dir": "data",}\n')
    model = tmp_path / "model-without-tokenizer"
    model.mkdir()
    for name in ("config.json", "model.safetensors", "processor_config.json"):
        (model / name).write_text("{}")
    return tmp_path


def prepare(*flags: str) -> list[str]:
    return ["prepare", "--format", "csv", "--no-progress", *flags]


CASES = [
    pytest.param(
        prepare("--interactions", "not-gzip.csv.gz", "--items", "items.csv", "--output-dir", "out"),
        1,
        "not-gzip.csv.gz: cannot be read",
        id="prepare-non-gzip-.gz-names-the-file",
    ),
    pytest.param(
        prepare("--interactions", "truncated.csv.gz", "--items", "items.csv", "--output-dir", "out"),
        1,
        "truncated.csv.gz: cannot be read",
        id="prepare-truncated-.gz-names-the-file",
    ),
    pytest.param(
        prepare("--interactions", "log.csv", "--items", "items.csv", "--title-col", "titel", "--output-dir", "out"),
        1,
        "missing column(s) ['titel']",
        id="prepare-misspelt-title-col",
    ),
    pytest.param(
        prepare("--interactions", "header-only.csv", "--items", "items.csv", "--output-dir", "out"),
        1,
        "No interactions row could be read from header-only.csv: the files hold no data line.",
        id="prepare-header-only-input",
    ),
    pytest.param(
        prepare("--interactions", "all-bad.csv", "--items", "items.csv", "--output-dir", "out"),
        1,
        "all 2 line(s) were unparsable",
        id="prepare-all-bad-input",
    ),
    pytest.param(
        prepare("--interactions", "log.csv", "--items", "items.csv", "--output-dir", "."),
        1,
        "is the current folder",
        id="prepare-output-dir-dot",
    ),
    pytest.param(
        prepare("--interactions", "log.csv", "--items", "items.csv", "--output-dir", "out", "--k-core", "0"),
        2,
        "k_core must be >= 1",
        id="prepare-bad-setting-is-usage",
    ),
    pytest.param(
        prepare("--items", "items.csv", "--output-dir", "out", "--format", "xml"),
        2,
        "--format 'xml' is not one of",
        id="prepare-unknown-format",
    ),
    pytest.param(
        ["train", "wrong-type.yaml"],
        2,
        "argument --max_steps/--max-steps: invalid int value: 'many'",
        id="train-yaml-value-of-the-wrong-type-names-the-field",
    ),
    pytest.param(
        ["train", "not-yaml.yaml"],
        2,
        "not-yaml.yaml, line 2, column 6: not valid YAML (mapping values are not allowed here)",
        id="train-yaml-not-valid-names-file-line-and-column",
    ),
    pytest.param(
        ["train", "python-tag.yaml"],
        2,
        "python-tag.yaml, line 2, column 11: tags such as !!python/object/apply:os.system are not allowed in a config",
        id="train-yaml-python-tag-is-refused-as-a-tag",
    ),
    pytest.param(
        ["train", "unknown-key.yaml"],
        2,
        "unknown-key.yaml: unknown key 'underflow_overflow'",
        id="train-yaml-unknown-key-names-the-key-and-the-file",
    ),
    pytest.param(
        ["train", "not-json.json"],
        2,
        "not-json.json: not valid JSON (Expecting property name enclosed in double quotes: line 1 column 21",
        id="train-json-not-valid-names-the-file",
    ),
    pytest.param(
        ["train", "--data-dir", "data", "--max_steps", "many"],
        2,
        "invalid int value",
        id="train-flag-of-the-wrong-type",
    ),
    *(
        pytest.param(
            ["train", "--data-dir", "data", "--max_eval_samples", count],
            2,
            f"--max_eval_samples must be at least 1 (or left out for all), got {count}",
            id=f"train-max-eval-samples-{count}-is-refused-before-training",
        )
        for count in ("0", "-1")
    ),
    pytest.param(
        ["train", "--data-dir", "data", "--max_steps", "0"],
        2,
        "--max_steps 0 trains nothing",
        id="train-zero-steps-is-refused-instead-of-training-one",
    ),
    pytest.param(
        ["train", "--data-dir", "missing-data", "--output-dir", "run"],
        1,
        "no prepared dataset here",
        id="train-missing-data-dir",
    ),
    pytest.param(
        ["recommend", "--model", "model-without-tokenizer", "--history", TITLES[0]],
        1,
        "tokenizer.json missing",
        id="recommend-missing-tokenizer.json",
    ),
    pytest.param(
        ["recommend", "--model", "model-without-tokenizer"], 2, "give the history as either", id="recommend-no-history"
    ),
    pytest.param(["evaluate", "--data-dir", "missing-data"], 1, "no prepared dataset here", id="evaluate-missing-data"),
    pytest.param(
        ["evaluate", "--data-dir", "data", "--baselines", "none"],
        2,
        "nothing to evaluate",
        id="evaluate-nothing-to-score",
    ),
    pytest.param(
        ["push", "--model", "missing-model", "--repo-id", "me/x", "--folder-only", "up"],
        1,
        "No model folder",
        id="push-missing-model",
    ),
]


@pytest.mark.parametrize(("argv", "code", "message"), CASES)
def test_a_user_error_is_one_line_with_a_hint_and_an_exit_code(files, monkeypatch, capsys, argv, code, message):
    monkeypatch.chdir(files)
    assert iamrec_main(argv) == code
    lines = capsys.readouterr().err.strip().splitlines()
    error = [line for line in lines if line.startswith("iamrec ")]
    assert len(error) == 1 and error[0].startswith(f"iamrec {argv[0]}: error: "), lines
    assert message in error[0]
    assert error[0].endswith("(add --debug for the traceback)" if code == 1 else f"(see `iamrec {argv[0]} --help`)")
    assert not any("Traceback" in line for line in lines)


def test_a_recommend_history_mixes_titles_and_marked_ids():
    titles = {"Heat", "1917", "#9"}
    assert history_items(["Heat", "#42", "1917", "#9", "#7x"], titles) == ["Heat", 42, "1917", "#9", "#7x"]


def test_a_read_only_output_folder_is_one_line(files, monkeypatch, capsys):
    """A read-only folder cannot be simulated for root, so the write itself is made to fail as it would."""

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    monkeypatch.chdir(files)
    assert (
        iamrec_main(
            prepare("--interactions", "log.csv", "--items", "items.csv", "--output-dir", "ro/out", "--k-core", "2")
        )
        == 1
    )
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("iamrec prepare: error: [Errno 13] Permission denied:") and "ro" in error


def test_debug_raises_a_config_error_instead_of_printing_one_line(files, monkeypatch):
    monkeypatch.chdir(files)
    with pytest.raises(ValueError, match="unknown-key.yaml: unknown key 'underflow_overflow'"):
        iamrec_main(["train", "unknown-key.yaml", "--debug"])


def test_debug_shows_the_traceback_and_the_console_script_exits_with_the_code(files):
    argv = [sys.executable, "-m", "iamrec.cli", "recommend", "--model", "model-without-tokenizer", "--history", "x"]
    plain = subprocess.run(argv, cwd=files, capture_output=True, text=True)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    debug = subprocess.run([*argv, "--debug"], cwd=files, capture_output=True, text=True)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "FileNotFoundError" in debug.stderr


def test_both_flag_spellings_work_for_every_command(files, monkeypatch, capsys):
    monkeypatch.chdir(files)
    for spelling in ("--output-dir", "--output_dir"):
        out = f"data{spelling}"
        assert (
            iamrec_main(
                [
                    "prepare",
                    "--format",
                    "csv",
                    "--interactions",
                    "log.csv",
                    "--items",
                    "items.csv",
                    spelling,
                    out,
                    "--k_core",
                    "2",
                    "--no_progress",
                ]
            )
            == 0
        )
    assert iamrec_main(["evaluate", "--data_dir", "data--output-dir", "--exclude-history"]) == 0
    assert '"exclude_history": true' in capsys.readouterr().out


def test_prepare_never_loads_torch(files):
    """`import iamrec` used to load torch (426 of prepare's 893 MiB); names are now imported on first use."""
    script = (
        "import sys; from iamrec.cli import main; "
        "code = main(['prepare', '--format', 'csv', '--interactions', 'log.csv', '--items', 'items.csv', "
        "'--output-dir', 'out', '--k-core', '2', '--no-progress']); "
        "print(code, 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=files, capture_output=True, text=True)
    assert done.stdout.split()[-2:] == ["0", "False"], done.stderr


def test_train_help_lists_every_registered_schedule(capsys):
    """The help is built from the registry (and prints: a `%` in a help text once broke it)."""
    from iamrec.configuration_iamrec import SCHEDULES

    with pytest.raises(SystemExit) as exited:
        iamrec_main(["train", "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    schedule_help = text.split("--schedule SCHEDULE ", 1)[1].split("--num_intra", 1)[0]  # the help, not the usage
    assert [name for name in SCHEDULES if f" {name}: " not in f" {schedule_help}"] == []  # labels may wrap at a "-"
    assert "--supervision {last,every_item}" in text
