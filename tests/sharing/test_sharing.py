"""After training: `iamrec evaluate`, `iamrec recommend`, the Hub folder of `iamrec push`, their bad-input errors."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from pathlib import Path

import pytest
import torch

from iamrec import hub
from iamrec.baselines import MostPopular
from iamrec.cli import main as iamrec_main
from iamrec.comparison import evaluate_all
from iamrec.data import load_prepared, prepare_dataset
from iamrec.evaluation import EvaluationPolicy, ModelScorer, evaluate_scorer
from iamrec.folders import EVAL_FILE
from iamrec.inference import Recommender
from iamrec.training import train
from tokenizer_fixtures import TITLES
from training_fixtures import tiny_arguments, write_tiny_base_model, write_tiny_data


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("sharing")
    data_dir, base = write_tiny_data(root), write_tiny_base_model(root)
    result = train(*tiny_arguments(data_dir, base, root / "run", max_steps=2, eval_steps=2, save_steps=2))
    return data_dir, result.model_dir


def test_evaluate_prints_one_json_object_with_the_evaluators_numbers(trained, capsys):
    data_dir, model_dir = trained
    assert (
        iamrec_main(
            [
                "evaluate",
                "--data-dir",
                str(data_dir),
                "--model",
                str(model_dir),
                "--baselines",
                "most_popular",
                "random",
                "--exclude-history",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    data = load_prepared(data_dir)
    assert report["split"] == "test" and report["num_examples"] == len(data.splits["test"])
    assert report["policy"] == {"exclude_history": True, "ties": "pessimistic"}
    assert set(report["results"]) == {"IAMRec[model]", "MostPopular(count=targets)", "Random(seed=0)"}
    # The printed numbers are the evaluator's, for the model and for MostPopular, under the same policy.
    recommender, num_items = Recommender.from_pretrained(model_dir), len(data.titles)
    policy = EvaluationPolicy(exclude_history=True)
    expected = {
        "IAMRec[model]": ModelScorer(recommender.model, recommender.processor.collator()),
        "MostPopular(count=targets)": MostPopular(num_items).fit(data.splits["train"]),
    }
    for name, scorer in expected.items():
        metrics = evaluate_scorer(scorer, data.splits["test"], num_items, policy, show_progress=False)["metrics"]
        assert report["results"][name] == pytest.approx(metrics, abs=1e-9), name


def test_evaluate_checks_its_output_path_before_evaluating(trained, tmp_path, monkeypatch, capsys):
    """`iamrec evaluate --output missing/results.json` (or a folder) used to fail only after the whole evaluation."""
    data_dir, model_dir = trained
    monkeypatch.setattr("iamrec.comparison.evaluate_all", lambda *args, **kwargs: pytest.fail("evaluated"))
    for output, message in ((tmp_path / "missing" / "results.json", "does not exist"), (tmp_path, "is a folder")):
        assert (
            iamrec_main(["evaluate", "--data-dir", str(data_dir), "--model", str(model_dir), "--output", str(output)])
            == 1
        )
        assert message in capsys.readouterr().err


def test_recommend_prints_titles_and_rejects_unknown_ones(trained, capsys):
    _, model_dir = trained
    assert (
        iamrec_main(["recommend", "--model", str(model_dir), "--history", TITLES[0], TITLES[1], "-k", "3", "--json"])
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    (expected,) = Recommender.from_pretrained(model_dir).recommend([[TITLES[0], TITLES[1]]], k=3)
    assert [item["item_id"] for item in printed] == [item.item_id for item in expected]  # the same items, in order
    assert [item["title"] for item in printed] == [item.title for item in expected]
    assert not {item["title"] for item in printed} & {TITLES[0], TITLES[1]}  # history excluded by default
    assert iamrec_main(["recommend", "--model", str(model_dir), "--history", TITLES[0], TITLES[1], "-k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(". ", 1)[1].split("  (item")[0] for line in lines] == [item.title for item in expected]
    assert iamrec_main(["recommend", "--model", str(model_dir), "--history", "Toy Stroy (1995)"]) == 1
    error = capsys.readouterr().err
    assert "Toy Stroy (1995)" in error and "Toy Story (1995)" in error  # the close match is suggested
    assert iamrec_main(["recommend", "--model", str(model_dir), "--history", TITLES[0], "#5", "-k", "3", "--json"]) == 0
    (mixed,) = Recommender.from_pretrained(model_dir).recommend([[TITLES[0], 5]], k=3)
    assert [item["item_id"] for item in json.loads(capsys.readouterr().out)] == [item.item_id for item in mixed]


def test_missing_or_corrupt_checkpoints_and_foreign_data_are_clear_errors(trained, tmp_path):
    data_dir, model_dir = trained
    with pytest.raises(FileNotFoundError, match="No model folder"):
        Recommender.from_pretrained(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors missing"):
        Recommender.from_pretrained(broken)
    (broken / "model.safetensors").write_bytes((model_dir / "model.safetensors").read_bytes()[:1000])
    with pytest.raises(ValueError, match="corrupt"):
        Recommender.from_pretrained(broken)

    other = tmp_path / "other.csv"
    other.write_text("user,item,timestamp\n" + "".join(f"u{u},x{i},{u * 10 + i}\n" for u in range(6) for i in range(6)))
    items = tmp_path / "other_items.csv"
    items.write_text("item,title\n" + "".join(f"x{i},Other {i}\n" for i in range(6)))
    prepare_dataset(tmp_path / "other", format="csv", interactions=[other], items=[items], progress=False)
    with pytest.raises(ValueError, match="catalog .* differs from the model's"):
        evaluate_all(load_prepared(tmp_path / "other"), "test", model_dir, baselines=())


@pytest.mark.parametrize(
    ("name", "content", "command", "message"),
    [
        ("processor_config.json", "[]", "recommend", "expected a JSON object (the processor settings"),
        ("config.json", '["iamrec"]', "recommend", "expected a JSON object (the model configuration"),
        ("config.json", '{"model_type": "iamrec"}', "recommend", "'num_items', 'num_hidden_layers', 'item_mask_modes'"),
        (
            "iamrec_run.json",
            '"trained"',
            "push",
            "expected a JSON object (the record of the `iamrec train` run), got a",
        ),
        ("eval_results.json", "[0.5]", "push", "expected a JSON object (the test metrics"),
        ("eval_results.json", '{"split": "test"}', "push", "'num_examples', 'num_items', 'policy', 'results' missing"),
        ("eval_results.json", '{"split": "test",', "push", "not valid JSON (Expecting"),
    ],
    ids=[
        "processor-a-list",
        "config-a-list",
        "config-without-keys",
        "run-a-string",
        "eval-a-list",
        "eval-without-keys",
        "eval-cut-short",
    ],
)
def test_a_model_file_of_the_wrong_shape_is_one_line_naming_it(
    trained, tmp_path, capsys, name, content, command, message
):
    """A valid JSON file of the wrong shape used to fail far from it (`'list' object has no attribute 'get'`)."""
    _, model_dir = trained
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / name).write_text(content)
    argv = {
        "recommend": ["recommend", "--model", str(broken), "--history-ids", "1", "2"],
        "push": ["push", "--model", str(broken), "--repo-id", "me/x", "--folder-only", str(tmp_path / "up")],
    }[command]
    assert iamrec_main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith(f"iamrec {command}: error: {broken / name}: ") and message in lines[-1], lines


def capture_uploads(monkeypatch, target) -> dict:
    """Replaces the Hub client (there is no network here) by one that copies the uploaded folder to `target`."""
    uploaded = {}

    class FakeApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, private=False, exist_ok=False):
            uploaded["repo_id"] = repo_id

        def upload_folder(self, repo_id, folder_path, commit_message):
            shutil.copytree(folder_path, target)
            return f"https://huggingface.co/{repo_id}/commit/fake"

    monkeypatch.setattr("huggingface_hub.HfApi", FakeApi)
    return uploaded


def test_push_to_hub_from_training_uploads_the_merged_model(tmp_path, monkeypatch):
    data_dir, base = write_tiny_data(tmp_path), write_tiny_base_model(tmp_path)
    uploaded = capture_uploads(monkeypatch, tmp_path / "uploaded")
    train(
        *tiny_arguments(
            data_dir,
            base,
            tmp_path / "run",
            max_steps=2,
            eval_steps=2,
            save_steps=2,
            push_to_hub=True,
            hub_model_id="someone/pushed",
        )
    )
    assert uploaded["repo_id"] == "someone/pushed"
    names = set(os.listdir(tmp_path / "uploaded"))
    assert {"README.md", "model.safetensors", "modeling_iamrec.py", "processor_config.json"} <= names
    assert not any(name.startswith("adapter") for name in names)


def fresh_venv_without_iamrec(root) -> str:
    """A new virtual environment that sees the installed dependencies but not iamrec (an editable install's .pth
    files are only read from site directories, and the dependencies' folder is added as a plain path)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    site = next(root.glob("lib/python*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return str(root / "bin" / "python")


def test_push_uploads_only_the_model_files_by_name(trained, tmp_path):
    """Stray files in a model folder (credentials.json, my_notes.txt, a .py) used to be uploaded by suffix."""
    _, model_dir = trained
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    for stray in ("credentials.json", "my_notes.txt", "scratch.py", "secrets.safetensors"):
        (folder / stray).write_text("private")
    uploaded = hub.build_hub_folder(folder, tmp_path / "upload", "someone/iamrec-tiny")
    names = sorted(os.listdir(uploaded))
    assert not {"credentials.json", "my_notes.txt", "scratch.py", "secrets.safetensors"} & set(names)
    assert names == sorted([*(path.name for path in hub.shipped_files(model_dir)), "README.md"])
    assert set(os.listdir(model_dir)) <= set(names)  # every file train wrote still ships


def test_the_hub_folder_names_no_local_path_and_quotes_no_data(tmp_path):
    """`prepare` from /abs/customers.csv with one bad line, `train --data_dir /abs/...`: the card and iamrec_run.json
    used to publish the base model's path, the source paths and the bad line's raw value."""
    write_tiny_data(tmp_path)
    with (tmp_path / "interactions.csv").open("a") as handle:
        handle.write("u1,i01,SECRET-4711\n")
    data_dir = tmp_path / "private-data"
    prepare_dataset(
        data_dir.resolve(),
        format="csv",
        interactions=[(tmp_path / "interactions.csv").resolve()],
        items=[(tmp_path / "items.csv").resolve()],
        progress=False,
    )
    base = write_tiny_base_model(tmp_path).resolve()
    result = train(*tiny_arguments(data_dir, base, tmp_path / "run", max_steps=2, eval_steps=2, save_steps=2))
    uploaded = hub.build_hub_folder(result.model_dir, tmp_path / "upload", "someone/iamrec-tiny")
    card = (uploaded / "README.md").read_text()
    assert "interactions.csv:" in card and "expected integer epoch seconds or an ISO" in card  # the skipped line
    for path in sorted(uploaded.iterdir()):
        if path.suffix in (".json", ".md", ".py"):
            text = path.read_text()
            for private in (str(tmp_path), tempfile.gettempdir(), str(Path.home()), "SECRET-4711"):
                assert private not in text, (path.name, private)


def test_the_hub_folder_alone_serves_recommendations_without_iamrec(trained, tmp_path, monkeypatch):
    data_dir, model_dir = trained
    (model_dir / EVAL_FILE).write_text(json.dumps(evaluate_all(load_prepared(data_dir), "test", model_dir)))
    uploaded = capture_uploads(monkeypatch, tmp_path / "uploaded")
    assert hub.push(model_dir, "someone/iamrec-tiny").endswith("commit/fake")
    folder = tmp_path / "uploaded"
    assert uploaded["repo_id"] == "someone/iamrec-tiny"
    names = set(os.listdir(folder))
    assert {
        "README.md",
        "config.json",
        "model.safetensors",
        "configuration_iamrec.py",
        "modeling_iamrec.py",
        "processor_config.json",
        "processing_iamrec.py",
        "tokenizer.json",
    } <= names
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in names)
    card = (folder / "README.md").read_text()
    assert card.startswith("---\n") and "library_name: transformers" in card
    assert "| 0 | `intra` |" in card and "| 1 | `inter_last` |" in card and "| k-core | 5 |" in card
    assert "| MostPopular(count=targets) |" in card and "NDCG@10" in card

    expected = Recommender.from_pretrained(model_dir).recommend([[0, 1, 2]], k=5)[0]
    script = tmp_path / "serve.py"
    script.write_text(
        textwrap.dedent(
            """
        import json, sys
        try:
            import iamrec
            sys.exit("iamrec must not be importable here")
        except ImportError:
            pass
        from transformers import AutoModel, AutoProcessor
        model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True).eval()
        processor = AutoProcessor.from_pretrained(sys.argv[1], trust_remote_code=True)
        inputs = processor([[0, 1, 2]])
        top = model.recommend(**inputs, k=5, exclude=[[0, 1, 2]])
        print(json.dumps({"ids": top.item_ids[0].tolist(), "titles": processor.decode_items(top.item_ids[0].tolist())}))
        """
        )
    )
    python = fresh_venv_without_iamrec(tmp_path / "venv")
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    served = subprocess.run(
        [python, str(script), str(folder)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert served.returncode == 0, served.stderr[-3000:]
    result = json.loads(served.stdout.strip().splitlines()[-1])
    assert result["ids"] == [item.item_id for item in expected]
    assert result["titles"] == [item.title for item in expected]


def test_device_and_dtype_options_are_honoured_and_recorded(trained, monkeypatch, capsys):
    """`--device`/`--dtype` on evaluate and recommend: the model loads where asked, the head stays float32, and the
    report records it. bfloat16 keeps 8 bits of mantissa (relative error 2^-9 per rounding); through two layers of
    width 32 the logits move by far less than 2% of their spread, so rankings and metrics agree."""
    data_dir, model_dir = trained
    data = load_prepared(data_dir)
    full, half = (
        Recommender.from_pretrained(model_dir, device="cpu", dtype=dtype) for dtype in ("float32", "bfloat16")
    )
    assert half.placement == {"device": "cpu", "dtype": "bfloat16"} and full.placement["dtype"] == "float32"
    assert half.model.layers[0].self_attn.q_proj.weight.dtype == torch.bfloat16
    assert half.model.rec_head.items.weight.dtype == torch.float32  # scores of many items must not tie in bf16
    examples = data.splits["test"].to_list()
    logits = [ModelScorer(r.model, r.processor.collator())(examples) for r in (full, half)]
    assert logits[1].dtype == torch.float32
    assert (logits[0] - logits[1]).abs().max() <= 0.02 * logits[0].std()
    reports = [
        evaluate_all(data, "test", model_dir, (), device="cpu", dtype=dtype) for dtype in ("float32", "bfloat16")
    ]
    assert [report["model_placement"]["dtype"] for report in reports] == ["float32", "bfloat16"]
    for name, value in reports[0]["results"][f"IAMRec[{model_dir.name}]"].items():
        assert reports[1]["results"][f"IAMRec[{model_dir.name}]"][name] == pytest.approx(value, abs=0.01), name

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert iamrec_main(["evaluate", "--data-dir", str(data_dir), "--model", str(model_dir), "--device", "cuda"]) == 2
    assert "Device 'cuda' is not available" in capsys.readouterr().err
    assert iamrec_main(["recommend", "--model", str(model_dir), "--history", TITLES[0], "--dtype", "float16"]) == 2
    assert "Unknown dtype 'float16'" in capsys.readouterr().err
    assert iamrec_main(["recommend", "--model", str(model_dir), "--history", TITLES[0], "--dtype", "bfloat16"]) == 0


def test_auto_placement_prefers_a_gpu_in_bfloat16(monkeypatch):
    from iamrec.inference import resolve_device, resolve_dtype

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("iamrec.precision.cpu_has_fast_bf16", lambda: False)
    assert resolve_device("auto") == torch.device("cpu") and resolve_dtype("auto", torch.device("cpu")) == torch.float32
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert resolve_device("auto") == torch.device("cuda") and resolve_device("cuda:1") == torch.device("cuda:1")
    assert resolve_dtype("auto", torch.device("cuda")) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert resolve_dtype("auto", torch.device("cuda")) == torch.float32
    with pytest.raises(ValueError, match="Device 'cuda:2' is not available"):
        resolve_device("cuda:2")
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        resolve_device("tpu")


def test_evaluate_trains_or_loads_a_sasrec_baseline(trained, tmp_path, capsys):
    """`iamrec evaluate --baselines sasrec` trains one on the same splits; `--sasrec-dir` loads a saved one instead,
    and both give the evaluator's numbers for it."""
    from iamrec.baselines import SASRec

    data_dir, _ = trained
    data = load_prepared(data_dir)
    assert iamrec_main(["evaluate", "--data-dir", str(data_dir), "--baselines", "sasrec"]) == 0
    trained_here = json.loads(capsys.readouterr().out)["results"]["SASRec(seed=0)"]
    fitted = SASRec.fit(data.splits["train"], data.splits["validation"], len(data.titles), seed=0, show_progress=False)
    expected = evaluate_scorer(fitted, data.splits["test"], len(data.titles), show_progress=False)["metrics"]
    assert trained_here == pytest.approx(expected, abs=1e-9)  # deterministic for the seed
    fitted.save_pretrained(tmp_path / "sasrec")
    args = ["evaluate", "--data-dir", str(data_dir), "--baselines", "sasrec", "--sasrec-dir", str(tmp_path / "sasrec")]
    assert iamrec_main(args) == 0
    assert json.loads(capsys.readouterr().out)["results"]["SASRec(seed=0)"] == pytest.approx(expected, abs=1e-9)
