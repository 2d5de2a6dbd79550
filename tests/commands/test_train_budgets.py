"""`iamrec train --budget NAME`: the demo's and the study's settings from the one place that defines them."""

import pytest

from iamrec import DEMO_BUDGETS
from iamrec.cli import main
from iamrec.commands.train import parse
from iamrec.configuration_iamrec import make_schedule
from iamrec.demo import demo_arguments
from iamrec.study import STUDY_BUDGETS, llm_arguments, table5_modes
from iamrec.training.budgets import TRAIN_PRESETS

COMPARED = ("base_model", "base_model_layers", "supervision", "max_eval_samples", "rec_head_norm", "eval_sample")
TRAINING = (
    "max_steps",
    "eval_steps",
    "save_steps",
    "logging_steps",
    "per_device_train_batch_size",
    "max_tokens_per_batch",
    "compile_layers",
    "learning_rate",
    "early_stopping_patience",
)


def settings(args, training) -> dict:
    return {**{n: getattr(args, n) for n in COMPARED}, **{n: getattr(training, n) for n in TRAINING}}


def test_the_demo_budget_trains_exactly_as_the_demo(tmp_path):
    args, training, _ = parse(["--budget", "demo", "--data_dir", "d", "--output_dir", "o"])
    demo_args, demo_training = demo_arguments(tmp_path, DEMO_BUDGETS["default"])
    assert settings(args, training) == settings(demo_args, demo_training)
    assert args.schedule_fields == {"schedule": "hatllm", "num_intra": None, "num_inter_last": None}
    assert make_schedule(args.schedule, 3) == ["intra", "full", "inter_last"] and args.budget == "demo"
    assert (training.max_steps, args.supervision) == (600, "every_item")


@pytest.mark.parametrize("supervision", ["last", "every_item"])
def test_a_study_budget_trains_as_the_studys_hatllm_run(tmp_path, supervision):
    args, training, _ = parse(["--budget", "cpu", "--supervision", supervision, "--data_dir", "d"])
    study_args, study_training = llm_arguments(
        STUDY_BUDGETS["cpu"], "d", tmp_path, table5_modes("hatllm", 3), 0, "smollm2-135m", supervision=supervision
    )
    assert settings(args, training) == settings(study_args, study_training)
    assert training.max_steps == (140 if supervision == "every_item" else 300)
    # the study's modes at 3 layers, which the schedule's own blocks give at that depth
    assert make_schedule(args.schedule, 3, args.num_intra, args.num_inter_last) == table5_modes("hatllm", 3)


def test_flags_beside_a_budget_override_it():
    args, training, _ = parse(["--budget", "demo", "--max_steps", "7", "--learning_rate", "5e-4", "--data_dir", "d"])
    assert (training.max_steps, training.learning_rate, args.base_model_layers) == (7, 5e-4, 3)


def test_an_unknown_budget_is_one_line(capsys):
    assert main(["train", "--budget", "huge", "--data_dir", "d"]) == 2
    assert f"--budget 'huge' is not one of {list(TRAIN_PRESETS)}" in capsys.readouterr().err
