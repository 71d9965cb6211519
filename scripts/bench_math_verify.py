#!/usr/bin/env python3
"""Dev-time baseline for bench/bench_math.cpp: HuggingFace Math-Verify on the same inputs.

Workloads (the same pairing as the C++ bench):
  gsm8k    the 5,276 labelled model solutions of verifier/gsm8k_model_solutions.jsonl; gold = the text after
           the last "A:" of ground_truth, completion = the solution;
  math500  the 500 MATH-500 reference solutions without their "The answer is:" tail; gold = that tail.
Each item is verify(parse("\\boxed{" + gold + "}"), parse(completion)) with Math-Verify's defaults (its
own extraction from the completion, 5 s timeouts), one process, one thread; the gold is parsed per item as
the C++ side does. Prints a table, and with --json a last line of JSON that bench_math reads.

Setup (dev venv only, never a runtime dependency):
  ~/.cache/aha/venv/bin/pip install 'math-verify[antlr4_13_2]'
  ~/.cache/aha/venv/bin/python scripts/bench_math_verify.py --data ../shared/data
"""
import argparse
import importlib.metadata
import json
import logging
import os
import sys
import time

from math_verify import parse, verify


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def gsm8k_items(data):
    items = []
    for row in read_jsonl(os.path.join(data, "verifier", "gsm8k_model_solutions.jsonl")):
        truth = row["ground_truth"]
        gold = truth[truth.rfind("A:") + 2 :].strip()
        for model in ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"):
            items.append((gold, row[model]["solution"], bool(row[model]["is_correct"])))
    return items


def math500_items(data):
    items = []
    for row in read_jsonl(os.path.join(data, "math500", "test.jsonl")):
        solution = row["answer"]
        tail = solution.rfind("The answer is:")
        items.append((solution[tail + 14 :].strip(), solution[:tail], True))
    return items


def run(items):
    agree = 0
    start = time.perf_counter()
    for gold, completion, label in items:
        ok = verify(parse("\\boxed{" + gold + "}"), parse(completion))
        agree += int(bool(ok) == label)
    elapsed = time.perf_counter() - start
    return {"items": len(items), "seconds": elapsed, "per_second": len(items) / elapsed, "agree": agree}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    parser.add_argument("--json", action="store_true", help="end with one JSON line for bench_math")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # Math-Verify logs every timeout and failed parse

    report = {"version": importlib.metadata.version("math-verify")}
    for name, items in (("gsm8k", gsm8k_items(args.data)), ("math500", math500_items(args.data))):
        result = run(items)
        report[name] = result
        print(
            f"Math-Verify {report['version']} {name:8s} {result['items']:5d} items  {result['per_second']:8.1f} items/s"
            f"  agree {result['agree']}/{result['items']}",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
