"""A small trained model folder for the sharing tests, and a copy of it that a test may change."""

import shutil
from pathlib import Path

import pytest

from iamrec.training import train
from training_fixtures import tiny_arguments, write_tiny_base_model, write_tiny_data


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sharing")
    data_dir, base = write_tiny_data(root), write_tiny_base_model(root)
    return train(*tiny_arguments(data_dir, base, root / "run", max_steps=2, eval_steps=2, save_steps=2)).model_dir


@pytest.fixture
def folder(model_dir, tmp_path) -> Path:
    """A copy of the trained model folder that a test may change."""
    return Path(shutil.copytree(model_dir, tmp_path / "model"))
