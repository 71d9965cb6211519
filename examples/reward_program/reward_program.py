#!/usr/bin/env python3
"""An aha reward program: serves a plain Python reward function over aha's JSON-lines protocol.

    python3 reward_program.py                      # the example rule below: last_number_matches
    python3 reward_program.py my_rules.py:my_fn    # any function of yours, unchanged

In a run config:
    {"name": "program", "options": {"command": ["python3", "examples/reward_program/reward_program.py"],
                                    "timeout_s": 10, "fallback": 0}}

Your function may be either
  - per sample:  fn(prompt, completion, answer) -> float
  - a batch, TRL style (first parameter named `completions`):
                 fn(completions, prompts=..., answer=..., **kwargs) -> list[float]
Return None (or raise) for a sample you cannot score: aha gives it the rule's fallback and counts it.

Protocol (rewards/custom/program_rule.h), one line each way per batch:
    aha  -> us   {"version": 1, "inputs": [{"prompt": "...", "completion": "...", "answer": "..."}, ...]}
    us   -> aha  {"scores": [1.0, null, ...]}   or   {"error": "why"}
Logs go to stderr: anything else on stdout would break the protocol. Standard library only.
"""
import importlib.util
import inspect
import json
import math
import re
import sys
import traceback

_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")


def last_number_matches(prompt, completion, answer):
    """The example rule: 1.0 when the last number in the completion equals the answer, else 0.0."""
    numbers = _NUMBER.findall(completion)
    if not numbers:
        return 0.0
    try:
        return 1.0 if float(numbers[-1].replace(",", "")) == float(answer.replace(",", "")) else 0.0
    except ValueError:
        return None  # the ground truth is not a number: cannot score


def load_function(spec):
    path, _, name = spec.rpartition(":")
    if not path or not name:
        sys.exit(f"reward_program.py: expected FILE.py:FUNCTION, got {spec!r}")
    module_spec = importlib.util.spec_from_file_location("user_rules", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return getattr(module, name)


def as_score(value):
    """A finite float, or None (JSON null) for anything else."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def score_batch(fn, batched, inputs):
    if batched:
        scores = fn(completions=[x["completion"] for x in inputs], prompts=[x["prompt"] for x in inputs],
                    answer=[x["answer"] for x in inputs])
        return [as_score(s) for s in scores]
    scores = []
    for x in inputs:
        try:
            scores.append(as_score(fn(x["prompt"], x["completion"], x["answer"])))
        except Exception:
            traceback.print_exc(file=sys.stderr)
            scores.append(None)
    return scores


def main():
    fn = load_function(sys.argv[1]) if len(sys.argv) > 1 else last_number_matches
    batched = next(iter(inspect.signature(fn).parameters), None) == "completions"
    for line in sys.stdin:  # EOF: aha is done with us
        try:
            request = json.loads(line)
            reply = {"scores": score_batch(fn, batched, request["inputs"])}
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            reply = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
