#!/usr/bin/env python3
"""Dev-time: golden outputs from HF transformers for a tiny random DeepSeek-V3 checkpoint.

Writes tests/fixtures/hf_deepseek_v3/{config.json, model.safetensors, tokenizer.json, expected.safetensors}:
the checkpoint exactly as transformers saves it, and, in fp32 with eager attention, the logits for two
80-token inputs (past YaRN's original context of 64) and 32 greedy tokens (full re-forward each step).
The features exercised: q_lora, groups (n_group 4, topk_group 2), negative e_score_correction_bias,
a shared expert, a dense first layer, YaRN with mscale_all_dim. Tests never run Python; rerun this only
to regenerate:  ~/.cache/aha/venv/bin/python scripts/make_hf_fixtures.py   (pip install transformers)
Also writes tests/fixtures/fp8/block_scaled.safetensors (an F8_E4M3 weight with 128x128 block scales and
torch's dequantisation of it) and tests/fixtures/hf_deepseek_v3_sharded/ (the same checkpoint sharded
by transformers, with model.safetensors.index.json), and tests/fixtures/hf_{qwen2,llama,qwen3,qwen3_moe}/
(the GQA families: logits for two 80-token inputs and 32 greedy tokens each; biases and norm weights
randomised so a missing bias or q/k-norm shows; see make_gqa()).
"""
import json
import os
import shutil

import torch
import transformers
from safetensors.torch import save_file
from transformers import DeepseekV3Config, DeepseekV3ForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "hf_deepseek_v3")


def greedy_tokens(model, prompt, n):
    """n greedy tokens after prompt [1, T], re-running the full forward each step (no KV cache)."""
    seq = prompt.clone()
    with torch.no_grad():
        for _ in range(n):
            nxt = model(seq).logits[:, -1].argmax(-1, keepdim=True)
            seq = torch.cat([seq, nxt], dim=1)
    return seq[:, prompt.shape[1]:].contiguous()


def save_fixture(model, out, data_seed=None, length=80, prompt_len=70, max_shard_size=None):
    """Writes `model` to `out` as transformers saves it (plus the tiny tokenizer.json, without
    generation_config.json) and, given data_seed, expected.safetensors: two random `length`-token inputs,
    their fp32 logits, and 32 greedy tokens after the first `prompt_len` tokens of the first input."""
    shutil.rmtree(out, ignore_errors=True)
    kwargs = {"max_shard_size": max_shard_size} if max_shard_size else {}
    model.save_pretrained(out, safe_serialization=True, **kwargs)
    shutil.copy(os.path.join(ROOT, "examples", "tiny", "tokenizer.json"), os.path.join(out, "tokenizer.json"))
    if os.path.exists(os.path.join(out, "generation_config.json")):
        os.remove(os.path.join(out, "generation_config.json"))
    if data_seed is None:
        return
    g = torch.Generator().manual_seed(data_seed)
    input_ids = torch.randint(1, 320, (2, length), generator=g)
    with torch.no_grad():
        logits = model(input_ids).logits.float()
    prompt = input_ids[:1, :prompt_len].clone()
    save_file({"input_ids": input_ids.contiguous(), "logits": logits.contiguous(),
               "greedy_prompt": prompt.contiguous(), "greedy_tokens": greedy_tokens(model, prompt, 32)},
              os.path.join(out, "expected.safetensors"), metadata={"transformers": transformers.__version__})


def main():
    torch.manual_seed(0)
    cfg = DeepseekV3Config(
        vocab_size=320, hidden_size=64, intermediate_size=96, moe_intermediate_size=32,
        num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4, n_shared_experts=1,
        n_routed_experts=8, num_experts_per_tok=2, n_group=4, topk_group=2, first_k_dense_replace=1,
        q_lora_rank=32, kv_lora_rank=16, qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=16,
        routed_scaling_factor=2.5, norm_topk_prob=True, rms_norm_eps=1e-6, tie_word_embeddings=False,
        max_position_embeddings=256, rope_theta=10000.0, initializer_range=0.1,
        rope_scaling={"type": "yarn", "rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
                      "beta_fast": 32.0, "beta_slow": 1.0, "mscale": 1.0, "mscale_all_dim": 1.0},
        bos_token_id=None, eos_token_id=0, pad_token_id=0)
    cfg._attn_implementation = "eager"
    model = DeepseekV3ForCausalLM(cfg).float().eval()
    with torch.no_grad():
        for name, module in model.named_modules():
            if hasattr(module, "e_score_correction_bias"):
                module.e_score_correction_bias.copy_(torch.empty(8).uniform_(-0.15, 0.1))
    save_fixture(model, OUT, data_seed=1)
    print("wrote", OUT, "with transformers", transformers.__version__)
    print(json.load(open(os.path.join(OUT, "config.json"))).keys())


def make_fp8_and_sharded():
    """FP8 block-scaled weights as DeepSeek ships them, dequantised by torch as the reference, and a
    sharded copy of the tiny checkpoint written by transformers (model.safetensors.index.json)."""
    torch.manual_seed(2)
    w = torch.randn(200, 300) * 3
    scale_inv = torch.rand(2, 3) * 0.5 + 0.05  # one per 128x128 block (ceil(200/128) x ceil(300/128))
    full = scale_inv.repeat_interleave(128, 0)[:200].repeat_interleave(128, 1)[:, :300]
    w8 = (w / full).to(torch.float8_e4m3fn)
    expected = w8.float() * full
    fp8_dir = os.path.join(ROOT, "tests", "fixtures", "fp8")
    os.makedirs(fp8_dir, exist_ok=True)
    save_file({"layer.weight": w8, "layer.weight_scale_inv": scale_inv, "expected": expected},
              os.path.join(fp8_dir, "block_scaled.safetensors"))
    model = DeepseekV3ForCausalLM.from_pretrained(OUT, torch_dtype=torch.float32)
    sharded = OUT + "_sharded"
    save_fixture(model, sharded, max_shard_size="300KB")
    print("wrote", fp8_dir, "and", sharded, sorted(os.listdir(sharded)))


def make_v2():
    """A DeepSeek-V2-Lite-like checkpoint: q_lora_rank null, softmax router, group_limited_greedy."""
    from transformers import DeepseekV2Config, DeepseekV2ForCausalLM
    torch.manual_seed(3)
    cfg = DeepseekV2Config(
        vocab_size=320, hidden_size=64, intermediate_size=96, moe_intermediate_size=32,
        num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4, n_shared_experts=2,
        n_routed_experts=8, num_experts_per_tok=2, n_group=4, topk_group=2, topk_method="group_limited_greedy",
        first_k_dense_replace=1, q_lora_rank=None, kv_lora_rank=16, qk_nope_head_dim=16, qk_rope_head_dim=8,
        v_head_dim=16, routed_scaling_factor=1.0, rms_norm_eps=1e-6, tie_word_embeddings=False,
        max_position_embeddings=256, rope_theta=10000.0, initializer_range=0.1,
        bos_token_id=None, eos_token_id=0, pad_token_id=0)
    cfg._attn_implementation = "eager"
    model = DeepseekV2ForCausalLM(cfg).float().eval()
    out = os.path.join(ROOT, "tests", "fixtures", "hf_deepseek_v2")
    save_fixture(model, out, data_seed=4, length=40, prompt_len=30)
    print("wrote", out)


def save_gqa_fixture(name, model, seed):
    """Saves `model` (random init, then biases and norm weights randomised) as tests/fixtures/hf_<name>/
    with logits for two 80-token inputs and 32 greedy tokens after a 70-token prompt."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.endswith(".bias"):
                p.uniform_(-0.2, 0.2)
            elif "norm" in pname:
                p.uniform_(0.5, 1.5)
    out = os.path.join(ROOT, "tests", "fixtures", "hf_" + name)
    save_fixture(model, out, data_seed=seed + 1)
    print("wrote", out, sorted(os.listdir(out)))


def make_gqa():
    """Tiny qwen2 / llama / qwen3 / qwen3_moe checkpoints. What each one exercises:
    qwen2: GQA 4:2, q/k/v bias, tied embeddings, rope_theta 1e6;
    llama: MQA (1 kv head), head_dim 32 != hidden/heads, attention_bias (o bias too), Llama-3 rope scaling
           over an original context of 32 (the 80-token inputs reach all three frequency bands);
    qwen3: q_norm/k_norm, head_dim 24 != hidden/heads, GQA 4:2;
    qwen3_moe: Qwen3 attention + softmax top-2 of 8 experts with norm_topk_prob, a dense first layer."""
    from transformers import (LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config,
                              Qwen3ForCausalLM, Qwen3MoeConfig, Qwen3MoeForCausalLM)
    common = dict(vocab_size=320, hidden_size=64, intermediate_size=96, num_attention_heads=4,
                  rms_norm_eps=1e-6, max_position_embeddings=256, initializer_range=0.1,
                  bos_token_id=None, eos_token_id=0, pad_token_id=0)
    specs = [
        ("qwen2", Qwen2Config, Qwen2ForCausalLM,
         dict(num_hidden_layers=2, num_key_value_heads=2, tie_word_embeddings=True, rope_theta=1e6), 11),
        ("llama", LlamaConfig, LlamaForCausalLM,
         dict(num_hidden_layers=2, num_key_value_heads=1, head_dim=32, attention_bias=True,
              tie_word_embeddings=False, rope_theta=10000.0,
              rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                            "high_freq_factor": 4.0, "original_max_position_embeddings": 32}), 13),
        ("qwen3", Qwen3Config, Qwen3ForCausalLM,
         dict(num_hidden_layers=2, num_key_value_heads=2, head_dim=24, tie_word_embeddings=False), 15),
        ("qwen3_moe", Qwen3MoeConfig, Qwen3MoeForCausalLM,
         dict(num_hidden_layers=3, num_key_value_heads=2, head_dim=16, num_experts=8, num_experts_per_tok=2,
              moe_intermediate_size=32, norm_topk_prob=True, mlp_only_layers=[0], decoder_sparse_step=1,
              tie_word_embeddings=False), 17),
    ]
    for name, config_cls, model_cls, extra, seed in specs:
        torch.manual_seed(seed)
        cfg = config_cls(**common, **extra)
        cfg._attn_implementation = "eager"
        save_gqa_fixture(name, model_cls(cfg).float().eval(), seed)


if __name__ == "__main__":
    import sys
    if "--gqa-only" in sys.argv:
        make_gqa()
        sys.exit(0)
    import sys
    if "--extra-only" not in sys.argv:  # --extra-only: keep the main fixture, redo fp8 + sharded
        main()
    make_fp8_and_sharded()
    make_v2()
    make_gqa()
