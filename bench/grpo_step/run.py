#!/usr/bin/env python3
"""The GRPO step benchmark: aha, then TRL's GRPOTrainer, on one workload, back to back in one invocation;
prints seconds per phase and per step for both with the ratio TRL/aha, peak RSS for both with the ratio
aha/TRL, the per-step reward curves, and writes everything to --results (JSON). bench/grpo_step/README.md
has the workloads, the commands and what is and is not matched.

    # workload 1: one GRPO step of a Qwen2.5-0.5B-shaped model (scripts/make_bench_checkpoint.py)
    ~/.cache/aha/venv/bin/python bench/grpo_step/run.py --workload qwen05b --model /tmp/qwen05b_fp32 \
        --dtype float32 --results /tmp/grpo_step_qwen05b_fp32.json
    # workload 2: the tiny demo config (DeepSeek-V3-style MoE), 30 steps
    ~/.cache/aha/venv/bin/python bench/grpo_step/run.py --workload tiny --steps 30 --results /tmp/grpo_step_tiny.json

Run from the repository root (aha resolves data paths such as ../shared/data from there). Each side runs as
its own child process; its peak RSS is that child's ru_maxrss from wait4(2).
"""
import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import prompts as prompt_source  # noqa: E402

WORKLOADS = {
    "qwen05b": {"config": os.path.join("bench", "grpo_step", "aha_qwen05b.json"), "model": None, "sets": []},
    # The demo config's held-out evals (200 problems before and after) and checkpoints are not part of a
    # step; they are cut to the minimum so a benchmark run is mostly steps.
    "tiny": {"config": os.path.join("examples", "tiny", "grpo.json"), "model": "examples/tiny/base",
             "sets": ["train.eval_problems=1", "train.eval_samples=1", "train.save_every=0"]},
}
PHASES = [("rollout", "generation"), ("reward", "reward"), ("train", "train"), ("step", "step")]


def run_child(cmd: list, log_path: str, echo) -> tuple[int, float, float]:
    """Runs cmd with stdout+stderr to log_path, echoing the lines echo(line) accepts; returns (exit code,
    seconds, peak RSS in MiB)."""
    start = time.perf_counter()
    with open(log_path, "w") as log:
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in child.stdout:
            log.write(line)
            if echo(line):
                sys.stdout.write("  | " + line[:300] + ("\n" if len(line) > 300 else ""))
                sys.stdout.flush()
        _, status, usage = os.wait4(child.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return code, time.perf_counter() - start, usage.ru_maxrss / 1024.0


def parse_sets(sets: list) -> dict:
    out = {}
    for item in sets:
        key, _, value = item.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def machine() -> dict:
    info = {"platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        if gpu.returncode == 0:
            info["gpus"] = [g.strip() for g in gpu.stdout.splitlines() if g.strip()]
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:
        info["load_average"] = os.getloadavg()
    except OSError:
        pass
    return info


def versions(aha: str) -> dict:
    out = {"python": platform.python_version()}
    for name in ("torch", "transformers", "trl", "accelerate"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            out[name] = None
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    out["repo_commit"] = commit.stdout.strip() or None
    out["aha_binary"] = os.path.abspath(aha)
    out["aha_binary_mtime"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(os.path.getmtime(aha)))
    return out


def mean(xs):
    return statistics.fmean(xs) if xs else float("nan")


def summarize(aha_steps: list, trl_steps: list) -> dict:
    """Per phase: the mean over all steps, step 1 alone, and the mean over steps 2.. (steady state)."""
    out = {}
    for aha_key, trl_key in PHASES:
        a = [s[f"timing/{aha_key}"] for s in aha_steps]
        t = [s[f"timing/{trl_key}"] for s in trl_steps]
        row = {"aha_all": mean(a), "trl_all": mean(t), "aha_step1": a[0], "trl_step1": t[0]}
        if len(a) > 1 and len(t) > 1:
            row["aha_steady"], row["trl_steady"] = mean(a[1:]), mean(t[1:])
        for which in ("all", "step1", "steady"):
            if f"aha_{which}" in row and row[f"aha_{which}"] > 0:
                row[f"ratio_trl_over_aha_{which}"] = row[f"trl_{which}"] / row[f"aha_{which}"]
        out[f"{aha_key}|{trl_key}"] = row
    return out


def fmt(x: float) -> str:
    if x != x:
        return "-"
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.1f}" if abs(x) < 1000 else f"{x:.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", choices=sorted(WORKLOADS), required=True)
    ap.add_argument("--model", help="model directory (qwen05b: required; tiny: examples/tiny/base)")
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], help="model.dtype (default: the checkpoint's)")
    ap.add_argument("--device", choices=["cpu", "cuda"], help="model.device (default: the config's, cpu)")
    ap.add_argument("--steps", type=int, help="train.steps (default: the config's; tiny: 30)")
    ap.add_argument("--gradient-checkpointing", action="store_true", help="train.gradient_checkpointing on both sides")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="more aha config overrides; TRL reads aha's resolved config, so it gets them too")
    ap.add_argument("--aha", default="build/aha")
    ap.add_argument("--python", default=sys.executable, help="the Python that runs TRL")
    ap.add_argument("--work-dir", default="/tmp/aha-grpo-step-bench", help="aha run dirs, prompts, logs")
    ap.add_argument("--results", required=True, help="results JSON written here")
    ap.add_argument("--skip-trl", action="store_true", help="aha only (a quick look; no ratios)")
    args = ap.parse_args()

    workload = WORKLOADS[args.workload]
    model = args.model or workload["model"]
    if not model:
        ap.error("--model is required for this workload (make one with scripts/make_bench_checkpoint.py)")
    steps = args.steps or (30 if args.workload == "tiny" else None)
    os.makedirs(args.work_dir, exist_ok=True)
    config = json.load(open(workload["config"]))
    sets = [f"model.path={model}"] + workload["sets"] + args.set
    if args.dtype:
        sets.append(f"model.dtype={args.dtype}")
    if args.device:
        sets.append(f"model.device={args.device}")
    if steps:
        sets.append(f"train.steps={steps}")
    if args.gradient_checkpointing:
        sets.append("train.gradient_checkpointing=true")
    given = parse_sets(sets)
    P = given.get("rollout.prompts_per_step", config["rollout"].get("prompts_per_step", 16))
    G = given.get("rollout.group_size", config["rollout"].get("group_size", 8))
    run_name = f"grpo-step-{args.workload}-{args.dtype or 'ckpt'}-{int(time.time())}"
    # every completion logged, so the prompts TRL gets can be checked against what aha drew
    sets += [f"train.samples_per_step={P * G}", f"train.output_dir={args.work_dir}", f"train.run_name={run_name}"]

    aha_cmd = [args.aha, "train", "--config", workload["config"], "--overwrite"]
    for s in sets:
        aha_cmd += ["--set", s]
    print(f"[aha] {shlex.join(aha_cmd)}", flush=True)
    code, aha_wall, aha_rss = run_child(aha_cmd, os.path.join(args.work_dir, run_name + ".aha.log"),
                                         lambda line: line.startswith(("step", "aha", "eval")))
    if code != 0:
        sys.exit(f"run.py: aha exited with {code}; log in {args.work_dir}/{run_name}.aha.log")
    run_dir = os.path.join(args.work_dir, run_name)
    resolved = json.load(open(os.path.join(run_dir, "config.json")))
    aha_steps = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
    aha_steps = [m for m in aha_steps if "timing/step" in m]
    n_steps = resolved["train"]["steps"]

    # The prompts, made the way aha drew them, then checked against what it logged.
    source = resolved["data"]["train"][0]
    prompts_file = os.path.join(args.work_dir, run_name + ".prompts.jsonl")
    count = n_steps * P
    if len(resolved["data"]["train"]) != 1:
        sys.exit("run.py: only one training source is ported (prompts.py)")
    if source.get("preset") == "gsm8k":
        rows = prompt_source.draw(prompt_source.gsm8k_pool(source["path"]), resolved["data"]["seed"], count)
    elif source.get("generator") == "arith":
        rows = prompt_source.arith_problems(args.aha, json.dumps(source["options"]), resolved["data"]["seed"], count)
    else:
        sys.exit(f"run.py: data source {source.get('name')} is not ported (prompts.py: gsm8k preset, arith)")
    prompt_source.write(rows, resolved["data"]["template"], prompts_file)
    check_cmd = [args.python, os.path.join(HERE, "prompts.py"), "check", "--prompts", prompts_file, "--samples",
                 os.path.join(run_dir, "samples.jsonl"), "--group-size", str(G), "--model", model, "--aha", args.aha]
    print(f"[check] {shlex.join(check_cmd)}", flush=True)
    check = subprocess.run(check_cmd, capture_output=True, text=True)
    print(check.stdout + check.stderr, end="", flush=True)
    if check.returncode != 0:
        sys.exit("run.py: the prompts TRL would get differ from aha's; not running TRL")

    results = {"workload": args.workload, "model": model, "dtype": resolved["model"]["dtype"] or "checkpoint's",
               "device": resolved["model"]["device"], "steps": n_steps, "prompts_per_step": P, "group_size": G,
               "machine": machine(), "versions": versions(args.aha),
               "commands": {"aha": shlex.join(aha_cmd), "prompts_check": shlex.join(check_cmd)},
               "prompt_check": check.stdout.strip().splitlines(),
               "aha": {"run_dir": run_dir, "wall_seconds": aha_wall, "peak_rss_mib": aha_rss, "steps": aha_steps}}
    trl_steps = []
    if not args.skip_trl:
        trl_out = os.path.join(args.work_dir, run_name + ".trl.jsonl")
        trl_cmd = [args.python, os.path.join(HERE, "trl_grpo.py"), "--config", os.path.join(run_dir, "config.json"),
                   "--prompts", prompts_file, "--out", trl_out]
        print(f"[trl] {shlex.join(trl_cmd)}", flush=True)
        code, trl_wall, trl_rss = run_child(trl_cmd, os.path.join(args.work_dir, run_name + ".trl.log"),
                                             lambda line: line.startswith(('{"', "Traceback")) or "Error" in line)
        if code != 0:
            sys.exit(f"run.py: TRL exited with {code}; log in {args.work_dir}/{run_name}.trl.log")
        trl_steps = [json.loads(line) for line in open(trl_out)]
        # The prompts TRL generated from, step by step, against aha's (samples.jsonl, every completion logged).
        samples = [json.loads(line) for line in open(os.path.join(run_dir, "samples.jsonl"))]
        aha_prompts = [s["prompt"] for s in samples[::G]]
        trl_prompts = [p for s in trl_steps for p in s.get("prompts", [])]
        same = aha_prompts == trl_prompts
        results["prompt_check"].append(f"prompts TRL generated from, in order, equal aha's: {same} "
                                       f"({len(trl_prompts)} vs {len(aha_prompts)})")
        if not same:
            print("run.py: WARNING: TRL's prompts differ from aha's", flush=True)
        for s in trl_steps:
            s.pop("prompts", None)
        results["commands"]["trl"] = shlex.join(trl_cmd)
        results["trl"] = {"wall_seconds": trl_wall, "peak_rss_mib": trl_rss, "steps": trl_steps}
        results["summary"] = summarize(aha_steps, trl_steps)
        results["peak_rss_mib"] = {"aha": aha_rss, "trl": trl_rss, "ratio_aha_over_trl": aha_rss / trl_rss}

    # -- the table ----------------------------------------------------------------------------------------
    print()
    print(f"GRPO step benchmark, workload {args.workload}: {model}, {results['dtype']}, {results['device']}, "
          f"{P} prompts x {G}, {n_steps} step(s); machine: {results['machine'].get('cpu', '?')} "
          f"({results['machine']['cpus']} cpus){', ' + ', '.join(results['machine']['gpus']) if 'gpus' in results['machine'] else ''}")
    if trl_steps:
        steady = n_steps > 1
        head = f"{'seconds per step':<22}{'aha':>10}{'TRL':>10}{'TRL/aha':>9}"
        if steady:
            head += f"   | steps 2..{n_steps}:{'aha':>8}{'TRL':>10}{'TRL/aha':>9}"
        print(head)
        for (aha_key, trl_key), row in zip(PHASES, results["summary"].values()):
            label = aha_key if aha_key == trl_key else f"{aha_key} | {trl_key}"
            line = (f"{label:<22}{fmt(row['aha_all']):>10}{fmt(row['trl_all']):>10}"
                    f"{fmt(row.get('ratio_trl_over_aha_all', float('nan'))):>9}")
            if steady:
                line += (f"   | {'':>11}{fmt(row['aha_steady']):>8}{fmt(row['trl_steady']):>10}"
                         f"{fmt(row.get('ratio_trl_over_aha_steady', float('nan'))):>9}")
            print(line)
        print(f"{'peak RSS (MiB)':<22}{fmt(aha_rss):>10}{fmt(trl_rss):>10}   aha/TRL {aha_rss / trl_rss:.2f}")
        if steady:
            print("per-step reward (aha | TRL) and accuracy (aha | TRL):")
            for k, (a, t) in enumerate(zip(aha_steps, trl_steps), 1):
                print(f"  step {k:>3}: reward {a.get('reward', float('nan')):.3f} | {t.get('reward', float('nan')):.3f}"
                      f"   accuracy {a.get('accuracy', float('nan')):.3f} | {t.get('accuracy', float('nan')):.3f}")
    else:
        for m in aha_steps:
            print({k: round(v, 3) for k, v in m.items() if k.startswith("timing/")})
    with open(args.results, "w") as f:
        json.dump(results, f, indent=1)
    print(f"results: {args.results}")


if __name__ == "__main__":
    main()
