"""The three warnings every run on a Llama base printed, although nothing was wrong, are gone; others still show."""

import logging
import warnings

import pytest
from peft import LoraConfig, get_peft_model

from iamrec.modeling_iamrec import IAMRecForSequentialRecommendation
from iamrec.training.expected_reports import is_fresh_head_report, quiet_expected_reports
from training_fixtures import write_tiny_base_model


@pytest.fixture
def transformers_warnings():
    """The warnings transformers logs (its library logger does not propagate to pytest's capture)."""
    records: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: records.append(record.getMessage())
    logger = logging.getLogger("transformers")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def build_and_checkpoint(base, folder):
    model = IAMRecForSequentialRecommendation.from_llama(
        str(base), num_items=7, config_overrides={"num_intra": 1, "num_inter_last": 1}
    )
    get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj"], modules_to_save=["rec_head"])).save_pretrained(
        folder
    )


def test_the_fresh_head_report_and_the_llama_config_notice_are_dropped_only_inside(tmp_path, transformers_warnings):
    base = write_tiny_base_model(tmp_path)
    build_and_checkpoint(base, tmp_path / "plain")
    assert any("LOAD REPORT" in message and "rec_head." in message for message in transformers_warnings)
    assert any("model of type `llama` to instantiate a model of type `iamrec`" in m for m in transformers_warnings)
    transformers_warnings.clear()
    with quiet_expected_reports():
        build_and_checkpoint(base, tmp_path / "quiet")
    assert transformers_warnings == []
    logging.getLogger("transformers.modeling_utils").warning("another warning")
    assert transformers_warnings == ["another warning"]  # the filters leave with the block


def test_a_report_naming_any_other_key_or_status_is_kept():
    head = "IAMRecForSequentialRecommendation LOAD REPORT from: base\nKey | Status |\n-----+-----+-\n"
    fresh = "rec_head.items.weight | \x1b[31mMISSING\x1b[0m | \nitem_embeddings.table.weight | MISSING | \n"
    assert is_fresh_head_report(head + fresh)
    assert not is_fresh_head_report(head + fresh + "model.layers.{0, 1}.mlp.up_proj.weight | MISSING | \n")
    assert not is_fresh_head_report(head + "rec_head.items.weight | MISMATCH | Reinit due to size mismatch\n")
    assert not is_fresh_head_report(head)


def test_the_checkpointing_rename_notice_is_dropped_inside_and_other_future_warnings_show(tmp_path):
    base = write_tiny_base_model(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_expected_reports():
            build_and_checkpoint(base, tmp_path / "quiet")
            warnings.warn("`is_gradient_checkpointing` is deprecated and will be removed in v6.", FutureWarning)
            warnings.warn("another future", FutureWarning)
    assert [str(warning.message) for warning in caught if warning.category is FutureWarning] == ["another future"]
