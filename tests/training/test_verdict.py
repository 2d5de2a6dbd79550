"""The line after training that says when the model is no better than MostPopular on the validation examples."""

from iamrec.data.subsets import Sample
from iamrec.training.verdict import popularity_ndcg, within_noise_note
from training_fixtures import write_tiny_data


def test_a_model_within_two_standard_errors_of_most_popular_gets_the_note():
    popular = (0.0130, 0.0020, 1000)
    assert within_noise_note(0.0153, popular).startswith("Note: the best validation NDCG@10 (0.0153) is within noise")
    assert "--max_steps" in within_noise_note(0.0153, popular) and "1,000 examples" in within_noise_note(0.01, popular)
    assert within_noise_note(0.0171, popular) is None  # 2.05 standard errors above
    assert within_noise_note(None, popular) is not None  # never validated


def test_most_popular_is_ranked_on_the_validation_sample_training_used(tmp_path):
    data_dir = write_tiny_data(tmp_path)
    mean, error, examples = popularity_ndcg(str(data_dir), Sample(10))
    assert examples == 10 and 0 <= mean <= 1 and error >= 0
    assert popularity_ndcg(str(data_dir), Sample(10)) == (mean, error, examples)
    assert popularity_ndcg(str(data_dir), Sample(None))[2] > 10
