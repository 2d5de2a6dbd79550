"""PromptTemplate: HatLLM's Table 1 text by default, settable words and pieces, dict round trip."""

import pytest

from iamrec.tokenization import PromptTemplate


def test_default_is_hatllm_table_1():
    prompt = PromptTemplate().render(["The Dark Knight", "Iron Man"])
    assert prompt == (
        "Instruction: Given a list of movies the user has watched before, please recommend a new movie that the user "
        "likes to the user.\n"
        'Input: The user has watched the following movies before: "The Dark Knight", "Iron Man"\n'
        "Output:"
    )


def test_domain_words_and_pieces_are_settable():
    template = PromptTemplate(
        items="products", item="product", verb="purchased", title_open="<", title_close=">", separator="; "
    )
    prompt = template.render(["A", "B"])
    assert "Given a list of products the user has purchased before" in prompt
    assert "recommend a new product" in prompt
    assert "The user has purchased the following products before: <A>; <B>\nOutput:" in prompt
    assert "movie" not in prompt


def test_pieces_concatenate_to_the_rendered_prompt():
    template = PromptTemplate()
    assert template.head + "A" + template.between + "B" + template.tail == template.render(["A", "B"])
    assert template.render([]) == template.empty
    assert '"' not in template.empty  # no dangling quotes for a user without history


def test_dict_round_trip_and_unknown_fields():
    template = PromptTemplate(items="games", item="game", verb="played", output_prefix="\nAnswer:")
    assert PromptTemplate.from_dict(template.to_dict()) == template
    with pytest.raises(ValueError, match="Unknown PromptTemplate fields \\['noun'\\]"):
        PromptTemplate.from_dict({"noun": "books"})


def test_invalid_placeholder_is_a_clear_error():
    with pytest.raises(ValueError, match="instruction .* only \\{items\\}, \\{item\\} and \\{verb\\}"):
        PromptTemplate(instruction="Recommend a {thing}.")
    assert "{literal}" in PromptTemplate(instruction="Keep {{literal}} braces. ").render(["A"])
