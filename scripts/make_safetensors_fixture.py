#!/usr/bin/env python3
"""Dev-time only: writes tests/fixtures/safetensors_py.safetensors with the reference Python `safetensors`
package, so the C++ reader is tested against files it did not write itself.

Every tensor is an arange pattern that tests/policy/test_safetensors.cpp rebuilds with the same torch ops
(all values exact in their dtype). Keep the two in sync.

  ~/.cache/aha/venv/bin/python scripts/make_safetensors_fixture.py --out tests/fixtures/safetensors_py.safetensors

With --check FILE it instead loads FILE (e.g. one written by aha's save_safetensors) with the Python
package and prints each tensor's dtype, shape and a checksum.
"""
import argparse
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file


def fixture_tensors() -> dict[str, torch.Tensor]:
    return {
        "f64": torch.arange(5, dtype=torch.float64) / 3,
        "f32": torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5 - 1,
        "f16": torch.arange(6, dtype=torch.float16).reshape(2, 3) / 4,
        "bf16": torch.arange(8, dtype=torch.bfloat16) * 0.25 - 1,
        "i64": torch.arange(6, dtype=torch.int64) * 1_000_000_000_007 - 3,
        "i32": torch.arange(-5, 5, dtype=torch.int32).reshape(2, 5),
        "i16": torch.arange(-4, 4, dtype=torch.int16) * 1000,
        "i8": torch.arange(-128, 128, 17, dtype=torch.int8),
        "u8": torch.arange(0, 256, 15, dtype=torch.uint8),
        "bool": torch.arange(7) % 3 == 0,
        "scalar": torch.tensor(3.5, dtype=torch.float32),
        "empty": torch.zeros(0, 4, dtype=torch.float32),
        "nested.name.weight": torch.arange(4, dtype=torch.float32).reshape(2, 1, 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="fixture to write")
    ap.add_argument("--check", help="a .safetensors file to load and describe instead")
    args = ap.parse_args()
    if args.check:
        tensors = load_file(args.check)
        with safe_open(args.check, framework="pt") as f:
            print("metadata:", f.metadata())
        for name, t in sorted(tensors.items()):
            print(f"{name}: {t.dtype} {list(t.shape)} sum={t.double().sum().item()!r}")
        expected = fixture_tensors()
        if set(tensors) == set(expected):  # a file holding the fixture pattern: compare exactly
            same = all(tensors[k].dtype == v.dtype and tensors[k].shape == v.shape and torch.equal(tensors[k], v)
                       for k, v in expected.items())
            print("equal to fixture_tensors():", same)
            return 0 if same else 1
        return 0
    if not args.out:
        ap.error("--out or --check is required")
    save_file(fixture_tensors(), args.out, metadata={"format": "pt", "source": "make_safetensors_fixture.py"})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
