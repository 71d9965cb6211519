#!/usr/bin/env python3
"""Bench-time: a Qwen2.5-0.5B-shaped checkpoint with random weights, made through transformers, never
committed. It has Qwen2.5-0.5B's exact architecture (24 layers, hidden 896, 14 query / 2 key-value heads,
SwiGLU 4864, vocabulary 151,936, tied embeddings, q/k/v biases, rope theta 1e6) and the real Qwen2
tokenizer (tests/fixtures/real_tokenizers/qwen2.tokenizer.json.gz), with HF's own random init
(initializer_range 0.02), so aha and TRL load the same files.

    ~/.cache/aha/venv/bin/python scripts/make_bench_checkpoint.py --out /tmp/qwen05b --dtype bfloat16
(pip install transformers in that venv first; bench/grpo_step/README.md has the whole procedure.)
"""
import argparse
import gzip
import os
import shutil

import torch
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER = os.path.join(ROOT, "tests", "fixtures", "real_tokenizers", "qwen2.tokenizer.json.gz")

QWEN25_05B = dict(
    vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
    num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768, rope_theta=1000000.0,
    rms_norm_eps=1e-6, tie_word_embeddings=True, hidden_act="silu", initializer_range=0.02,
    bos_token_id=151643, eos_token_id=151643, use_sliding_window=False,
)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="bfloat16")
    ap.add_argument("--layers", type=int, default=QWEN25_05B["num_hidden_layers"], help="fewer for a smoke run")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    shape = dict(QWEN25_05B, num_hidden_layers=args.layers)
    torch.manual_seed(args.seed)
    model = Qwen2ForCausalLM(Qwen2Config(**shape)).to(getattr(torch, args.dtype))
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    tokenizer_json = os.path.join(args.out, "tokenizer.json")
    with gzip.open(TOKENIZER, "rb") as src, open(tokenizer_json, "wb") as dst:
        shutil.copyfileobj(src, dst)
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=tokenizer_json, eos_token="<|endoftext|>",
                                        pad_token="<|endoftext|>")
    tokenizer.save_pretrained(args.out)
    params = sum(p.numel() for p in model.parameters())
    print(f"{args.out}: Qwen2.5-0.5B shape, {args.layers} layers, {params:,} parameters, {args.dtype}")


if __name__ == "__main__":
    main()
