"""The chunking sweep's summary: means over seeds and each chunking paired seed by seed with the reference."""

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
spec = importlib.util.spec_from_file_location("chunking_sweep", BENCHMARKS / "chunking_sweep.py")
chunking_sweep = importlib.util.module_from_spec(spec)
spec.loader.exec_module(chunking_sweep)


def write_run(root: Path, name: str, ndcg: float, steps: int) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    metrics = {"NDCG@10": ndcg, "HR@10": 2 * ndcg}
    test = {"num_examples": 10, "results": {"IAMRec[model]": metrics, "MostPopular(count=targets)": {"NDCG@10": 0.0}}}
    (folder / "test.json").write_text(json.dumps(test))
    (folder / "iamrec_run.json").write_text(json.dumps({"global_step": steps, "best_metric": {"NDCG@10": ndcg + 0.01}}))


def test_summary_pairs_each_chunking_with_the_reference_seed_by_seed(tmp_path):
    for seed, (default, short) in enumerate([(0.040, 0.030), (0.044, 0.036), (0.042, 0.030)]):
        write_run(tmp_path, f"chunk20_context10_seed{seed}", default, 140)
        write_run(tmp_path, f"chunk10_context0_seed{seed}", short, 212)
    summary = chunking_sweep.summarize(chunking_sweep.read_runs(tmp_path), "20:10")
    assert summary["20:10"]["test_NDCG@10"]["mean"] == pytest.approx(0.042)
    assert summary["20:10"]["test_NDCG@10"]["std"] == pytest.approx(0.002)
    assert summary["10:0"]["steps"] == [212] and "vs_20:10" not in summary["20:10"]
    paired = summary["10:0"]["vs_20:10"]
    assert paired["per_seed_differences"] == pytest.approx([-0.010, -0.008, -0.012])
    # differences -0.010 +- 0.002 over 3 seeds: t = -0.010 / (0.002 / sqrt(3))
    assert paired["seed_t_test"]["t"] == pytest.approx(-0.010 / (0.002 / math.sqrt(3)))


def test_a_folder_of_another_name_is_refused(tmp_path):
    (tmp_path / "chunk20_seed0").mkdir()
    with pytest.raises(ValueError, match="chunk<N>_context<N>_seed<N>"):
        chunking_sweep.read_runs(tmp_path)
