#!/usr/bin/env python3
"""Dev-time check (issue 3): checkpoints written by aha load in HF transformers and give the same logits.

For each tests/fixtures/hf_<arch> fixture, `aha convert` (run before this script, see below) has written
OUT/<arch>/ from aha's own loaded copy. This script loads OUT/<arch> with transformers'
AutoModelForCausalLM in fp32 (eager attention), runs the fixture's input_ids, and compares with the logits
transformers produced for the original checkpoint (expected.safetensors). It also opens every shard with
the `safetensors` package and checks `__metadata__` and, for sharded output, the index's total_size.

  for a in deepseek_v3 deepseek_v2 qwen2 llama qwen3 qwen3_moe; do
    build/aha convert --model tests/fixtures/hf_$a --out /tmp/aha-rt/$a --max-shard-size 200KB; done
  ~/.cache/aha/venv/bin/python scripts/check_transformers_load.py /tmp/aha-rt
"""
import json
import os
import sys

import torch
import transformers
from safetensors import safe_open
from safetensors.torch import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def check(out_root, arch):
    out = os.path.join(out_root, arch)
    expected = load_file(os.path.join(ROOT, "tests", "fixtures", "hf_" + arch, "expected.safetensors"))
    files = sorted(f for f in os.listdir(out) if f.endswith(".safetensors"))
    total = 0
    for f in files:
        with safe_open(os.path.join(out, f), "pt") as st:
            assert st.metadata() == {"format": "pt"}, (f, st.metadata())
            total += sum(st.get_tensor(k).numel() * st.get_tensor(k).element_size() for k in st.keys())
    index_path = os.path.join(out, "model.safetensors.index.json")
    if os.path.exists(index_path):
        index = json.load(open(index_path))
        assert index["metadata"]["total_size"] == total, (index["metadata"], total)
    config = json.load(open(os.path.join(out, "config.json")))
    assert "quantization_config" not in config
    model = transformers.AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        logits = model(expected["input_ids"]).logits.float()
    ref = expected["logits"]
    rel = ((logits - ref).abs().max() / ref.abs().max()).item()
    print(f"{arch:12s} files {len(files)}  total_size {total}  max rel err vs HF on the original {rel:.2e}")
    return rel <= 1e-5


def main():
    out_root = sys.argv[1]
    archs = sorted(os.listdir(out_root))
    ok = all([check(out_root, a) for a in archs])
    print("transformers", transformers.__version__, "OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
