"""Saving, reloading (in-process and as remote code without iamrec), building from Llama, and LoRA adapters."""

import json
import os
import random

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModel, LlamaConfig, LlamaForCausalLM

from iamrec import IAMRecForSequentialRecommendation
from model_fixtures import VOCAB_SIZE, batch_from_layouts, random_layout, tiny_model
from remote_code_fixtures import run_without_iamrec

HATLLM = ["intra", "full", "inter_last"]


def example_batch() -> dict[str, torch.Tensor]:
    rng = random.Random(0)
    return batch_from_layouts([random_layout(rng, n) for n in (2, 5)], "left")


def test_save_and_reload_in_process(tmp_path):
    model, batch = tiny_model(HATLLM), example_batch()
    model.save_pretrained(tmp_path)
    assert sorted(os.listdir(tmp_path)) == [
        "config.json",
        "configuration_iamrec.py",
        "model.safetensors",
        "modeling_iamrec.py",
    ]
    reloaded = AutoModel.from_pretrained(tmp_path, attn_implementation="eager").eval()
    assert isinstance(reloaded, IAMRecForSequentialRecommendation)
    assert reloaded.config.item_mask_modes == HATLLM
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**batch).logits, model(**batch).logits, atol=0, rtol=0)


def test_remote_code_load_in_a_fresh_process_without_iamrec(tmp_path):
    model, batch = tiny_model(HATLLM), example_batch()
    model.save_pretrained(tmp_path / "checkpoint")
    torch.save(batch, tmp_path / "batch.pt")
    with torch.no_grad():
        torch.save(model(**batch).logits, tmp_path / "expected.pt")
    result = run_without_iamrec(
        """
        import torch
        from transformers import AutoConfig, AutoModel
        try:
            import iamrec
            raise SystemExit("iamrec should not be importable here")
        except ModuleNotFoundError:
            pass
        config = AutoConfig.from_pretrained("checkpoint", trust_remote_code=True)
        model = AutoModel.from_pretrained("checkpoint", trust_remote_code=True, attn_implementation="eager").eval()
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        assert config.item_mask_modes == ["intra", "full", "inter_last"]
        with torch.no_grad():
            logits = model(**torch.load("batch.pt")).logits
        torch.testing.assert_close(logits, torch.load("expected.pt"), atol=0, rtol=0)
        print("REMOTE-OK")
        """,
        tmp_path,
    )
    assert "REMOTE-OK" in result.stdout, result.stderr[-3000:]


def test_from_llama_keeps_pretrained_weights_and_sets_the_schedule(tmp_path):
    torch.manual_seed(0)
    llama = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=VOCAB_SIZE,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=4,
            num_attention_heads=4,
            num_key_value_heads=2,
        )
    )
    llama.save_pretrained(tmp_path)
    model = IAMRecForSequentialRecommendation.from_llama(
        str(tmp_path), num_items=11, schedule="hatllm", config_overrides={"num_intra": 1, "num_inter_last": 2}
    )
    assert model.config.item_mask_modes == ["intra", "full", "inter_last", "inter_last"]
    assert model.config.model_type == "iamrec" and model.config.num_items == 11
    torch.testing.assert_close(model.layers[2].mlp.up_proj.weight, llama.model.layers[2].mlp.up_proj.weight)
    torch.testing.assert_close(model.embed_tokens.weight, llama.model.embed_tokens.weight)
    assert model.rec_head.items.weight.shape == (11, 32)
    # With every layer "full", the decoder is exactly the pretrained Llama.
    plain = IAMRecForSequentialRecommendation.from_llama(str(tmp_path), num_items=11, schedule="full").eval()
    batch = example_batch()
    with torch.no_grad():
        expected = llama.model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            position_ids=(batch["attention_mask"].cumsum(-1) - 1).clamp(min=0),
        ).last_hidden_state
        torch.testing.assert_close(
            plain(**batch).last_hidden_state[batch["attention_mask"].bool()],
            expected[batch["attention_mask"].bool()],
            atol=1e-5,
            rtol=1e-5,
        )


def lora(model):
    config = LoraConfig(
        r=8,
        lora_alpha=16,
        lora_dropout=0.05,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        modules_to_save=["rec_head"],
    )
    return get_peft_model(model, config)


def test_lora_trains_saves_reloads_and_merges(tmp_path):
    batch, labels = example_batch(), torch.tensor([3, 7])
    peft_model = lora(tiny_model(HATLLM, attn_implementation="sdpa"))
    trainable = {name for name, p in peft_model.named_parameters() if p.requires_grad}
    assert any("lora_A" in name for name in trainable)
    assert any("rec_head" in name and "modules_to_save" in name for name in trainable)
    assert not any("mlp" in name for name in trainable)
    peft_model.train()
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=1e-2)
    first = None
    for _ in range(10):
        loss = peft_model(**batch, labels=labels).loss
        first = first if first is not None else loss.item()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert loss.item() < first
    peft_model.eval()
    with torch.no_grad():
        expected = peft_model(**batch).logits
    peft_model.save_pretrained(tmp_path / "adapter")
    assert json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())["r"] == 8

    reloaded = PeftModel.from_pretrained(tiny_model(HATLLM, attn_implementation="sdpa"), tmp_path / "adapter").eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**batch).logits, expected)
    merged = reloaded.merge_and_unload()
    assert type(merged) is IAMRecForSequentialRecommendation
    with torch.no_grad():
        torch.testing.assert_close(merged(**batch).logits, expected, atol=1e-5, rtol=1e-5)
    merged.save_pretrained(tmp_path / "merged")
    with torch.no_grad():
        torch.testing.assert_close(
            AutoModel.from_pretrained(tmp_path / "merged")(**batch).logits, expected, atol=1e-5, rtol=1e-5
        )


def test_from_llama_accepts_an_iamrec_checkpoint_and_layer_overrides(tmp_path):
    tiny_model(HATLLM).save_pretrained(tmp_path / "iamrec")
    rebuilt = IAMRecForSequentialRecommendation.from_llama(str(tmp_path / "iamrec"), num_items=5, schedule="full")
    assert rebuilt.config.item_mask_modes == ["full"] * 3 and rebuilt.config.num_items == 5
    shallower = IAMRecForSequentialRecommendation.from_llama(
        str(tmp_path / "iamrec"),
        num_items=5,
        schedule="hatllm",
        config_overrides={"num_hidden_layers": 2, "num_intra": 1, "num_inter_last": 1},
    )
    assert shallower.config.item_mask_modes == ["intra", "inter_last"] and len(shallower.layers) == 2
    assert not shallower.config.use_cache  # a scorer builds no KV cache unless asked
