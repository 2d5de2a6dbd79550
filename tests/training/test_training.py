"""`iamrec train`: HatLLM defaults, config files, Trainer evaluation, kill-and-resume, data-parallel, saved model."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModel, AutoTokenizer, TrainerCallback

from iamrec.commands.train import parse as parse_arguments
from iamrec.configuration_iamrec import DEFAULT_SCHEDULE
from iamrec.data import load_prepared
from iamrec.evaluation import EvaluationPolicy, ModelScorer, evaluate_scorer
from iamrec.folders import RUN_FILE
from iamrec.inference import Recommender
from iamrec.tokenization import IAMRecProcessor
from iamrec.training import train
from training_fixtures import tiny_arguments, write_tiny_base_model, write_tiny_data

TESTS = Path(__file__).resolve().parents[1]  # the fixture modules


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("training")
    return write_tiny_data(root), write_tiny_base_model(root)


def test_defaults_follow_hatllm_and_config_files_work(tmp_path):
    (tmp_path / "run.yaml").write_text("data_dir: some/data\noutput_dir: out\nschedule: iam\nlearning_rate: 0.0005\n")
    args, training_args, policy = parse_arguments([str(tmp_path / "run.yaml"), "--ties", "optimistic"])
    assert (args.data_dir, args.schedule, training_args.learning_rate) == ("some/data", "iam", 5e-4)
    assert policy == EvaluationPolicy(exclude_history=False, ties="optimistic")  # flags after the file add to it
    assert (args.lora_r, args.lora_alpha, args.lora_dropout, args.dtype) == (8, 16, 0.0, "auto")
    assert (training_args.max_steps, training_args.eval_steps, training_args.early_stopping_patience) == (1600, 100, 2)
    assert training_args.load_best_model_at_end and training_args.metric_for_best_model == "NDCG@10"
    args, training_args, _ = parse_arguments(["--data_dir", "d", "--lr_scheduler_type", "cosine", "--lora_r", "4"])
    assert (args.lora_r, training_args.lr_scheduler_type.value) == (4, "cosine")
    with pytest.raises(ValueError, match="Unknown schedule"):
        parse_arguments(["--data_dir", "d", "--schedule", "bogus"])


def test_the_schedule_flags_are_checked_against_the_registry_before_anything_loads():
    """`--schedule` takes every registered schedule (HatLLM's Table-5 ablations too) and only their own parameters;
    explicit modes replace the named schedule in the configuration."""
    args, _, _ = parse_arguments(["--data_dir", "d", "--schedule", "cr_pre"])
    assert args.schedule_fields == {"schedule": "cr_pre", "num_intra": None, "num_inter_last": None}
    args, _, _ = parse_arguments(["--data_dir", "d"])
    assert args.schedule == DEFAULT_SCHEDULE
    with pytest.raises(ValueError, match=r"The 'iam' schedule takes no \['num_inter_last'\]"):
        parse_arguments(["--data_dir", "d", "--schedule", "iam", "--num_inter_last", "2"])
    args, _, _ = parse_arguments(["--data_dir", "d", "--item_mask_modes", "intra", "full", "--schedule", "full"])
    assert args.schedule_fields == {"item_mask_modes": ["intra", "full"]}
    with pytest.raises(ValueError, match=r"invalid choice: 'all'"):
        parse_arguments(["--data_dir", "d", "--supervision", "all"])
    with pytest.raises(ValueError, match="dtype must be one of .'auto', 'float32', 'bfloat16'., got 'float16'"):
        parse_arguments(["--data_dir", "d", "--dtype", "float16"])
    with pytest.raises(ValueError, match="max_tokens_per_batch must be a positive number of tokens, got 0"):
        parse_arguments(["--data_dir", "d", "--max_tokens_per_batch", "0"])


def test_train_saves_a_merged_model_whose_trainer_metrics_match_standalone_evaluation(workspace, tmp_path):
    data_dir, base = workspace
    result = train(*tiny_arguments(data_dir, base, tmp_path / "run"))
    evaluations = [entry for entry in result.log_history if "eval_NDCG@10" in entry]
    assert [entry["step"] for entry in evaluations] == [2, 4, 6]
    run = json.loads((result.model_dir / RUN_FILE).read_text())
    assert run["item_mask_modes"] == ["intra", "inter_last"]
    # Every file of the model folder has the same mode (model.safetensors used to be 0600, unreadable to others).
    assert len({path.stat().st_mode for path in result.model_dir.iterdir() if path.is_file()}) == 1
    assert run["data_protocol"]["settings"]["k_core"] == 5

    recommender = Recommender.from_pretrained(result.model_dir)
    assert type(recommender.model).__name__ == "IAMRecForSequentialRecommendation"
    assert recommender.processor.max_length == 256  # inference truncates prompts as training did
    assert not any("lora" in name for name in recommender.model.state_dict())
    # The Trainer's ranking evaluation (ranks only) and the standalone evaluator agree on the best checkpoint's model.
    validation = load_prepared(data_dir).splits["validation"]
    standalone = evaluate_scorer(
        ModelScorer(recommender.model, recommender.processor.collator(max_length=256)),
        validation,
        recommender.processor.num_items,
        show_progress=False,
    )
    best = max(evaluations, key=lambda entry: entry["eval_NDCG@10"])
    assert standalone["metrics"]["NDCG@10"] == pytest.approx(best["eval_NDCG@10"], abs=1e-6)
    assert standalone["metrics"]["HR@5"] == pytest.approx(best["eval_HR@5"], abs=1e-6)


def test_train_refuses_to_replace_a_trained_model_unless_told(workspace, tmp_path):
    """`iamrec train` into an output_dir that holds model/ used to replace it, and delete its checkpoints, silently."""
    data_dir, base = workspace
    first = train(*tiny_arguments(data_dir, base, tmp_path / "run", max_steps=2, eval_steps=2, save_steps=2))
    weights = (first.model_dir / "model.safetensors").read_bytes()
    with pytest.raises(FileExistsError, match="already holds a trained model .*--overwrite_output_dir"):
        train(*tiny_arguments(data_dir, base, tmp_path / "run", max_steps=2, eval_steps=2, save_steps=2, seed=8))
    assert (first.model_dir / "model.safetensors").read_bytes() == weights
    second = train(
        *tiny_arguments(
            data_dir, base, tmp_path / "run", max_steps=2, eval_steps=2, save_steps=2, seed=8, overwrite_output_dir=True
        )
    )
    assert (second.model_dir / "model.safetensors").read_bytes() != weights


class ZeroHeadBeforeTheLastEvaluation(TrainerCallback):
    """After the last optimizer step, zeroes the head: every item ties, so the last validation NDCG@10 is 0 and the
    best checkpoint is an earlier one."""

    def __init__(self, last_step: int):
        self.last_step = last_step

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step == self.last_step:
            with torch.no_grad():
                for name, parameter in model.named_parameters():
                    if "rec_head" in name:
                        parameter.zero_()


def test_training_ends_on_the_best_checkpoint_not_the_last(workspace, tmp_path):
    data_dir, base = workspace
    result = train(*tiny_arguments(data_dir, base, tmp_path / "run"), callbacks=[ZeroHeadBeforeTheLastEvaluation(6)])
    evaluations = {entry["step"]: entry for entry in result.log_history if "eval_NDCG@10" in entry}
    assert evaluations[6]["eval_NDCG@10"] == 0.0  # the last checkpoint is the worst
    best_step = max(evaluations, key=lambda step: evaluations[step]["eval_NDCG@10"])
    assert best_step < 6 and evaluations[best_step]["eval_NDCG@10"] > 0
    assert Path(result.best_checkpoint).name == f"checkpoint-{best_step}"

    saved = load_file(result.model_dir / "model.safetensors")
    adapter = load_file(Path(result.best_checkpoint) / "adapter_model.safetensors")
    best_head = {
        key.split("rec_head.")[1].replace("modules_to_save.default.", ""): value
        for key, value in adapter.items()
        if "rec_head" in key
    }
    assert best_head and all(torch.equal(saved[f"rec_head.{key}"], value) for key, value in best_head.items())
    assert saved["rec_head.items.weight"].abs().sum() > 0  # not the zeroed head of the last step
    recommender = Recommender.from_pretrained(result.model_dir)
    standalone = evaluate_scorer(
        ModelScorer(recommender.model, recommender.processor.collator(max_length=256)),
        load_prepared(data_dir).splits["validation"],
        recommender.processor.num_items,
        show_progress=False,
    )
    assert standalone["metrics"]["NDCG@10"] == pytest.approx(evaluations[best_step]["eval_NDCG@10"], abs=1e-6)


KILLED_RUN = """
import os, sys
sys.path[:0] = [{tests!r}]
from transformers import TrainerCallback
from iamrec.training import train
from training_fixtures import tiny_arguments

class Kill(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 5:  # after checkpoint-4 was written, in the middle of the next interval
            os._exit(137)

train(*tiny_arguments({data!r}, {base!r}, {out!r}), callbacks=[Kill()])
"""


def test_converting_the_base_model_on_first_use_does_not_change_the_run(workspace, tmp_path, monkeypatch):
    """The first `iamrec demo` on a fresh machine printed test NDCG@10 0.0304 and every later one 0.0301: converting
    SmolLM2 into the empty cache built a random model after the seed was set, so the head and LoRA started elsewhere."""
    data_dir, base = workspace
    cached = train(*tiny_arguments(data_dir, base, tmp_path / "cached"))

    def converting(name_or_path, num_layers=None):  # what a cache miss does: build (random) weights, then return
        torch.nn.Linear(64, 64)
        return str(base)

    monkeypatch.setattr("iamrec.training.loop.resolve_base_model", converting)
    first_use = train(*tiny_arguments(data_dir, base, tmp_path / "first-use"))
    losses = lambda history: [entry["loss"] for entry in history if "loss" in entry]  # noqa: E731
    assert losses(first_use.log_history) == losses(cached.log_history)


def test_a_killed_run_resumes_to_the_same_result(workspace, tmp_path):
    data_dir, base = workspace
    uninterrupted = train(*tiny_arguments(data_dir, base, tmp_path / "whole"))

    script = KILLED_RUN.format(tests=str(TESTS), data=str(data_dir), base=str(base), out=str(tmp_path / "killed"))
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == 137, killed.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "killed").glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    assert not (tmp_path / "killed" / "model").exists()

    resumed = train(*tiny_arguments(data_dir, base, tmp_path / "killed", resume_from_checkpoint="last"))
    assert resumed.global_step == uninterrupted.global_step == 6
    assert resumed.best_checkpoint.endswith(Path(uninterrupted.best_checkpoint).name)
    losses = lambda history: [entry["loss"] for entry in history if "loss" in entry]  # noqa: E731
    assert losses(resumed.log_history)[-2:] == pytest.approx(losses(uninterrupted.log_history)[-2:], abs=1e-6)
    first, second = (
        load_file(uninterrupted.model_dir / "model.safetensors"),
        load_file(resumed.model_dir / "model.safetensors"),
    )
    assert first.keys() == second.keys()
    for key in first:
        torch.testing.assert_close(first[key], second[key], atol=1e-6, rtol=1e-5)


def test_resume_skips_a_checkpoint_left_incomplete_and_says_so(workspace, tmp_path, caplog):
    """`--resume_from_checkpoint last` used to pick the newest checkpoint even when a kill mid-save left it broken."""
    data_dir, base = workspace
    with pytest.raises(FileNotFoundError, match="holds no complete checkpoint"):
        train(*tiny_arguments(data_dir, base, tmp_path / "empty", resume_from_checkpoint="last"))
    train(*tiny_arguments(data_dir, base, tmp_path / "run", max_steps=4, save_total_limit=None))
    (tmp_path / "run" / "checkpoint-4" / "optimizer.pt").unlink()  # as if killed while saving it
    with caplog.at_level("WARNING", logger="iamrec.training.loop"):
        resumed = train(
            *tiny_arguments(
                data_dir, base, tmp_path / "run", max_steps=4, save_total_limit=None, resume_from_checkpoint="last"
            )
        )
    assert "Skipping checkpoint-4: optimizer.pt is missing" in caplog.text
    steps = [entry["step"] for entry in resumed.log_history if "loss" in entry]
    assert steps == [1, 2, 3, 4] and resumed.global_step == 4  # steps 3 and 4 ran again after checkpoint-2


def test_data_parallel_training_with_two_cpu_processes(workspace, tmp_path):
    data_dir, base = workspace
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29517",
        "-m",
        "iamrec.cli",
        "train",
        "--data_dir",
        str(data_dir),
        "--base_model",
        str(base),
        "--num_intra",
        "1",
        "--output_dir",
        str(tmp_path / "ddp"),
        "--max_steps",
        "4",
        "--eval_steps",
        "2",
        "--save_steps",
        "2",
        "--per_device_train_batch_size",
        "2",
        "--learning_rate",
        "5e-3",
        "--ddp_backend",
        "gloo",
        "--use_cpu",
        "--disable_tqdm",
        "true",
        "--max_length",
        "256",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    model_dir = tmp_path / "ddp" / "model"
    run_summary = json.loads((model_dir / RUN_FILE).read_text())
    evaluations = [entry for entry in run_summary["log_history"] if "eval_NDCG@10" in entry]
    assert [entry["step"] for entry in evaluations] == [2, 4]
    assert AutoModel.from_pretrained(model_dir).config.num_items == len(load_prepared(data_dir).titles)


RECORDED_RUN = """
import json, os, sys
sys.path[:0] = [{tests!r}]
from transformers import TrainerCallback
from iamrec.training import train
from training_fixtures import tiny_arguments

class RecordBatches(TrainerCallback):
    \"\"\"Records the real tokens of every training example this process runs, step by step.\"\"\"
    def __init__(self):
        self.steps = []
    def on_train_begin(self, args, state, control, model=None, **kwargs):
        def hook(module, args, inputs):
            if module.training:
                rows = zip(inputs["input_ids"], inputs["attention_mask"])
                self.steps.append([ids[mask.bool()].tolist() for ids, mask in rows])
        model.register_forward_pre_hook(hook, with_kwargs=True)

record = RecordBatches()
args, training_args = tiny_arguments({data!r}, {base!r}, {out!r}, max_steps=3, per_device_train_batch_size={batch},
                                     eval_strategy="no", save_strategy="no", load_best_model_at_end=False,
                                     ddp_backend={backend!r}, use_cpu=True, optim="sgd", max_grad_norm=0.0)
args.lora_dropout = 0.0  # dropout masks would differ between the processes and the single run
args.supervision, args.chunk_items, args.context_items = {supervision!r}, 4, 1
args.item_id_embeddings = {item_ids!r}
# Plain SGD, unclipped: a gradient scaled wrongly across processes changes the weights (Adam would hide it).
train(args, training_args, callbacks=[record])
with open(os.path.join({out!r}, f"batches-{{os.environ.get('RANK', '0')}}.json"), "w") as handle:
    json.dump(record.steps, handle)
"""


@pytest.mark.parametrize("supervision, item_ids", [("last", "none"), ("every_item", "none"), ("every_item", "token")])
def test_data_parallel_training_equals_one_process_on_the_same_global_batch(workspace, tmp_path, supervision, item_ids):
    """With every_item the ranks hold different numbers of targets: the loss must still average over all of them.
    Item vectors, trained in full beside the LoRA adapters, must sum their gradients across processes too."""
    data_dir, base = workspace
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    port = {("last", "none"): "29519", ("every_item", "none"): "29521", ("every_item", "token"): "29523"}[
        (supervision, item_ids)
    ]
    runs = {
        "ddp": (["-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port], 2, "gloo"),
        "single": ([], 4, None),
    }
    for name, (launcher, batch, backend) in runs.items():
        script = tmp_path / f"{name}.py"
        script.write_text(
            RECORDED_RUN.format(
                tests=str(TESTS),
                data=str(data_dir),
                base=str(base),
                out=str(tmp_path / name),
                batch=batch,
                backend=backend,
                supervision=supervision,
                item_ids=item_ids,
            )
        )
        run = subprocess.run(
            [sys.executable, *launcher, str(script)], capture_output=True, text=True, env=env, timeout=600
        )
        assert run.returncode == 0, run.stderr[-3000:]
    read = lambda name, rank: json.loads((tmp_path / name / f"batches-{rank}.json").read_text())  # noqa: E731
    single, rank0, rank1 = read("single", 0), read("ddp", 0), read("ddp", 1)
    assert len(single) == len(rank0) == len(rank1) == 3
    for whole, first, second in zip(single, rank0, rank1):
        assert len(first) == len(second) == 2
        # The two ranks split each global batch: together they hold exactly its examples, each once.
        assert sorted(map(tuple, first + second)) == sorted(map(tuple, whole))
    weights = {name: load_file(tmp_path / name / "model" / "model.safetensors") for name in runs}
    assert weights["ddp"].keys() == weights["single"].keys()
    assert any(key.startswith("item_embeddings.") for key in weights["single"]) == (item_ids != "none")
    for key in weights["single"]:
        torch.testing.assert_close(weights["ddp"][key], weights["single"][key], atol=1e-5, rtol=1e-4)


def test_the_head_can_have_its_own_learning_rate(tmp_path):
    from peft import LoraConfig, get_peft_model

    from iamrec.training import RecommendationTrainer, RecTrainingArguments
    from model_fixtures import tiny_model

    model = get_peft_model(
        tiny_model(["intra", "inter_last"]), LoraConfig(r=4, target_modules=["q_proj"], modules_to_save=["rec_head"])
    )
    args = RecTrainingArguments(
        output_dir=str(tmp_path),
        learning_rate=1e-3,
        head_learning_rate=1e-5,
        eval_strategy="no",
        load_best_model_at_end=False,
    )
    optimizer = RecommendationTrainer(model=model, args=args, head_learning_rate=1e-5).create_optimizer()
    rates = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            assert rates[id(parameter)] == (1e-5 if "rec_head" in name else 1e-3), name
    assert {id(p) for p in model.parameters() if p.requires_grad} == set(rates)


def test_gradient_accumulation_matches_one_large_batch(workspace, tmp_path):
    data_dir, base = workspace
    finals = []
    for batch_size, accumulation in ((4, 1), (2, 2)):
        args, training_args = tiny_arguments(
            data_dir,
            base,
            tmp_path / f"ga{accumulation}",
            max_steps=2,
            eval_strategy="no",
            save_strategy="no",
            load_best_model_at_end=False,
            per_device_train_batch_size=batch_size,
            gradient_accumulation_steps=accumulation,
            optim="sgd",
            max_grad_norm=0.0,  # plain SGD sees the scale
        )
        args.lora_dropout = 0.0  # dropout masks would differ between one batch of 4 and two of 2
        finals.append(load_file(train(args, training_args).model_dir / "model.safetensors"))
    for key in finals[0]:
        torch.testing.assert_close(finals[0][key], finals[1][key], atol=1e-5, rtol=1e-4)


def test_popularity_head_ranks_exactly_like_most_popular_before_training(workspace):
    from iamrec.baselines import MostPopular
    from iamrec.training import IAMRecArguments
    from iamrec.training.loop import build_model

    data_dir, base = workspace
    data = load_prepared(data_dir)
    popular = MostPopular(len(data.titles)).fit(data.splits["train"])
    processor = IAMRecProcessor(AutoTokenizer.from_pretrained(base), data.titles)
    model = build_model(
        IAMRecArguments(data_dir=str(data_dir), base_model=str(base), num_intra=1), str(base), processor, popular
    )
    head = model.base_model.model.rec_head.modules_to_save["default"]
    scores = head(torch.randn(3, model.config.hidden_size)).detach()
    expected = popular.score([{}] * 3).float()
    assert torch.equal(
        scores.argsort(dim=-1, descending=True, stable=True), expected.argsort(dim=-1, descending=True, stable=True)
    )
    assert len(set(scores[0].tolist())) == len(data.titles)  # no ties left for the pessimistic policy


def test_length_grouped_sampling_sorts_by_prompt_tokens(workspace, tmp_path, monkeypatch):
    """`group_by_length` used to fail: the Trainer looks for `input_ids`, which raw examples do not have."""
    import transformers.trainer

    data_dir, base = workspace
    seen = {}

    class RecordingSampler(transformers.trainer.LengthGroupedSampler):
        def __init__(self, *args, lengths=None, **kwargs):
            seen["lengths"] = lengths
            super().__init__(*args, lengths=lengths, **kwargs)

    monkeypatch.setattr(transformers.trainer, "LengthGroupedSampler", RecordingSampler)
    args, training_args = tiny_arguments(
        data_dir,
        base,
        tmp_path / "grouped",
        max_steps=2,
        eval_strategy="no",
        save_strategy="no",
        load_best_model_at_end=False,
        train_sampling_strategy="group_by_length",
    )
    train(args, training_args)
    train_split = load_prepared(data_dir).splits["train"]
    processor = IAMRecProcessor(AutoTokenizer.from_pretrained(base), load_prepared(data_dir).titles, max_length=256)
    batch = processor.collator()([train_split[row] for row in range(len(train_split))])
    assert list(seen["lengths"]) == batch["attention_mask"].sum(dim=1).tolist()


def test_held_out_items_are_never_a_negative_in_the_loss_or_in_validation(tmp_path):
    import random

    from iamrec.evaluation import target_ranks
    from iamrec.training import RecommendationTrainer, RecTrainingArguments
    from model_fixtures import NUM_ITEMS, batch_from_layouts, random_layout, tiny_model

    model = tiny_model(["intra", "inter_last"]).train()
    rng = random.Random(0)
    batch = batch_from_layouts([random_layout(rng, rng.randint(1, 4)) for _ in range(5)], "left")
    labels = torch.tensor([0, 3, 5, 12, 3])
    held_out = [1, 4, 7]
    args = RecTrainingArguments(output_dir=str(tmp_path), eval_strategy="no", load_best_model_at_end=False)
    trainer = RecommendationTrainer(model=model, args=args, held_out_items=held_out)

    loss = trainer.compute_loss(model, {**batch, "labels": labels})
    kept = [item for item in range(NUM_ITEMS) if item not in held_out]
    logits = model(**batch).logits.detach()[:, kept]  # the catalog without the held-out items, by hand
    positions = torch.tensor([kept.index(int(label)) for label in labels])
    expected = torch.nn.functional.cross_entropy(logits, positions)
    torch.testing.assert_close(loss.detach(), expected)
    loss.backward()
    gradients = model.rec_head.items.weight.grad
    assert (gradients[held_out] == 0).all() and (gradients[kept].abs().sum(1) > 0).all()

    eval_loss, ranks, _ = trainer.prediction_step(model.eval(), {**batch, "labels": labels}, False)
    assert ranks.flatten().tolist() == target_ranks(logits, positions).tolist()  # ranked among the kept items
    torch.testing.assert_close(eval_loss, expected, atol=1e-5, rtol=1e-5)  # eval mode: no dropout in the tiny model

    plain = RecommendationTrainer(model=model, args=args)  # without held-out items, the model's own loss
    own_loss = model(**batch, labels=labels).loss
    torch.testing.assert_close(plain.compute_loss(model, {**batch, "labels": labels}), own_loss)


def test_training_holds_out_the_cold_items_and_refuses_data_where_one_is_a_target():
    from types import SimpleNamespace

    from iamrec.training.loop import held_out_items

    def data(cold, train_targets):
        splits = {"train": {"target": train_targets}, "validation": {"target": [2]}}
        return SimpleNamespace(protocol={"cold_items": cold} if cold is not None else {}, splits=splits)

    assert held_out_items(data([5, 9], [1, 2, 3])) == [5, 9]
    assert held_out_items(data(None, [1, 2, 3])) == []
    with pytest.raises(ValueError, match=r"The train split has cold items \[9\] as targets"):
        held_out_items(data([5, 9], [1, 9]))


def test_a_title_head_trained_on_cold_start_data_saves_the_cold_items_as_new_items(tmp_path):
    from iamrec.data import ProtocolConfig

    data_dir = write_tiny_data(tmp_path, ProtocolConfig(cold_items_fraction=0.2, cold_items_seed=0))
    args, training_args = tiny_arguments(data_dir, write_tiny_base_model(tmp_path), tmp_path / "run", max_steps=2)
    args.rec_head_type = "text"
    result = train(args, training_args)
    cold = load_prepared(data_dir).protocol["cold_items"]
    head = Recommender.from_pretrained(result.model_dir).model.rec_head
    warm = torch.ones(len(head.item_bias), dtype=torch.bool)
    warm[cold] = False
    assert (head.item_corrections[cold] == 0).all() and head.item_corrections[warm].abs().sum() > 0
    torch.testing.assert_close(head.item_bias[cold], head.item_bias[warm].mean().expand(len(cold)))
