"""benchmarks/report_layout.py: a declared table picks rows and formats fields as its templates say, and no more."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from report_layout import EntryTable, LabelTable, fill  # noqa: E402


def test_the_template_specs_beyond_python_format():
    row = {"ndcg": {"mean": 0.12345, "std": 0.01}, "one_seed": {"mean": 0.5, "std": None}, "none": {"mean": None}}
    assert fill("{ndcg:±} | {one_seed:±} | {none:±}", row) == "0.1235 ± 0.0100 | 0.5000 | "
    assert fill("{deltas:each+.4f} ({seeds:each})", {"deltas": [0.1, -0.02], "seeds": [0, 1]}) == (
        "+0.1000, -0.0200 (0, 1)"
    )
    assert fill("{error:until:} (did not run)", {"error": "OutOfMemoryError: CUDA out of memory"}) == (
        "OutOfMemoryError (did not run)"
    )


def test_an_optional_field_blanks_its_template_and_a_tuple_takes_the_first_that_is_not_blank():
    assert fill("p {t_test[p_value]:?.3f}", {"t_test": None}) == ""
    assert fill("p {t_test[p_value]:?.3f}", {"t_test": {"p_value": 0.01234}}) == "p 0.012"
    assert fill(("{mfu:?.1%}", "{tflops:?.3f}", "-"), {"tflops": 1.5}) == "1.500"
    assert fill(("{mfu:?.1%}", "-"), {}) == "-"


def test_a_field_the_file_lacks_is_an_error_unless_marked_optional():
    with pytest.raises(KeyError, match="seconds_per_step"):
        fill("{seconds_per_step:.3f}", {"seconds": 1.0})


def test_an_entry_table_makes_one_row_per_entry_and_reads_the_file_for_headers_and_notes(tmp_path):
    path = tmp_path / "speed.json"
    results = {"a": {"seconds": 2.0}, "b": {"error": "RuntimeError: no kernel"}, "c": {"seconds": 1.0}}
    path.write_text(json.dumps({"run": {"results": results}, "unit": "s", "note": "median"}))
    layout = EntryTable(
        {"variant": "`{key}`", "time ({unit})": "{seconds:.1f} {unit}", "of first": lambda row: row["first"]},
        rows="run.results",
        keys=("c", "b"),
        failed=("`{key}`", "{error:until:} (did not run)"),
        notes=("{note}; {count} variants.",),
        computed={"count": lambda file: len(file["run"]["results"]), "first": lambda file: next(iter(file["run"]))},
    )
    assert layout([path]) == [
        "| variant | time (s) | of first |",
        "|---|---|---|",
        "| `c` | 1.0 s | results |",
        "| `b` | RuntimeError (did not run) |  |",
        "",
        "median; 3 variants.",
    ]


def test_an_entry_table_of_whole_files_has_one_row_per_file(tmp_path):
    paths = [tmp_path / "x.json", tmp_path / "y.json"]
    for n, path in enumerate(paths):
        path.write_text(json.dumps({"loss": f"loss_{n}", "seeds": [0, 1][: n + 1]}))
    layout = EntryTable({"loss": "{loss}", "seeds": lambda file: len(file["seeds"])}, rows=None)
    assert layout(paths)[2:] == ["| loss_0 | 1 |", "| loss_1 | 2 |"]


def test_a_label_table_leaves_out_the_rows_whose_value_the_file_lacks(tmp_path):
    path = tmp_path / "collator.json"
    path.write_text(json.dumps({"catalog": "ML-100K", "rate": 1234}))
    layout = LabelTable(
        ("", "{catalog}"), (("examples/s", "{rate:,}"), ("tokenizing {large[items]} titles", "{large[s]:?} s"))
    )
    assert layout([path]) == ["|  | ML-100K |", "|---|---|", "| examples/s | 1,234 |"]
