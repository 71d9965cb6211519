#!/usr/bin/env python3
"""The prompts of the GRPO step benchmark, made exactly as aha's trainer draws and renders them, for the
TRL side (trl_grpo.py reads the file this writes: one {"prompt", "answer"} line per prompt, in draw order).

    # workload 1: GSM8K train rows, in aha's epoch-shuffled order (data.seed 1), r1zero template
    prompts.py gsm8k --data ../shared/data/gsm8k/train.jsonl --seed 1 --count 8 --template r1zero --out P.jsonl
    # workload 2: aha's arith generator (through `aha data export`), compact template
    prompts.py arith --aha build/aha --options '{"min_terms":2,"max_terms":3,"max_operand":99}' \
        --seed 11 --count 480 --template compact --out P.jsonl
    # the check: P.jsonl against what an aha run logged (train.samples_per_step = every completion), byte
    # for byte, and the token ids the HF tokenizer gives (what TRL feeds) against `aha tokenize`'s
    prompts.py check --prompts P.jsonl --samples RUN/samples.jsonl --group-size 4 --model DIR --aha build/aha

Ported from aha's C++:
  datasets/rng.h            splitmix64, mix_seed, xoshiro256** and its uniform_int
  datasets/problem_stream.cpp  a finite pool's draw j: pool[perm_e[j mod M]], perm_e a Fisher-Yates shuffle
                            seeded by mix_seed(seed, kEpochSalt + e + (source << 40)); one source here
  datasets/sources.cpp      the gsm8k preset (question = row["question"] as written, answer = the text after
                            the last "####", trimmed of " \\t\\r\\n"); blank lines skipped; row order = file order
  datasets/template.cpp     the r1zero and compact templates, "{question}" replaced
The arith generator is not ported: `aha data export --split train --seed S` writes exactly the problems a
run with data.seed S draws, in the same order (checked: the first 48 draws of a 3-step examples/tiny run
equal the export's first 48 lines, and the generator's list is prefix-stable: an export of 480 is the
first 480 lines of an export of 1000, so draw j is line j for every j a 30-step run makes).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

MASK64 = (1 << 64) - 1
EPOCH_SALT = 0x45504F4348  # "EPOCH"

TEMPLATES = {
    "r1zero": ("A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
               "The assistant first thinks about the reasoning process in the mind and then provides the user with "
               "the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> "
               "</answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
               "</answer>. User: {question}\nAssistant:"),
    "compact": "User: {question}\nAssistant:",
}


# -- datasets/rng.h ------------------------------------------------------------------------------------
def splitmix64(state: int) -> tuple[int, int]:
    """One step: (new state, mixed value)."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def mix_seed(seed: int, salt: int) -> int:
    _, mixed = splitmix64(salt)
    _, out = splitmix64(seed ^ mixed)
    return out


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK64


class Rng:
    """xoshiro256**, state filled from splitmix64."""

    def __init__(self, seed: int):
        self.s = []
        for _ in range(4):
            seed, word = splitmix64(seed)
            self.s.append(word)

    def next(self) -> int:
        s = self.s
        result = (_rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def uniform_int(self, lo: int, hi: int) -> int:
        span = (hi - lo + 1) & MASK64  # 0 means all 2^64
        if span == 0:
            return self.next()
        limit = MASK64 - MASK64 % span
        x = self.next()
        while x >= limit:
            x = self.next()
        return lo + x % span


# -- datasets/problem_stream.cpp, one finite source ----------------------------------------------------
def epoch_permutation(size: int, seed: int, epoch: int, source: int = 0) -> list[int]:
    perm = list(range(size))
    rng = Rng(mix_seed(seed, (EPOCH_SALT + epoch + (source << 40)) & MASK64))
    for x in range(size - 1, 0, -1):
        y = rng.uniform_int(0, x)
        perm[x], perm[y] = perm[y], perm[x]
    return perm


def draw(pool: list, seed: int, count: int) -> list:
    out, perm, perm_epoch = [], None, -1
    for j in range(count):
        epoch = j // len(pool)
        if epoch != perm_epoch:
            perm, perm_epoch = epoch_permutation(len(pool), seed, epoch), epoch
        out.append(pool[perm[j % len(pool)]])
    return out


# -- datasets/sources.cpp, the gsm8k preset ------------------------------------------------------------
def gsm8k_pool(path: str) -> list[dict]:
    pool = []
    with open(path, encoding="utf-8", newline="") as f:
        for line in f.read().split("\n"):
            if not line.strip(" \t\r"):
                continue
            row = json.loads(line)
            answer = row["answer"]
            at = answer.rfind("####")
            if at < 0:
                raise ValueError(f"{path}: a row without '####' in its answer: {line[:200]}")
            pool.append({"question": row["question"], "answer": answer[at + 4:].strip(" \t\r\n")})
    return pool


def render(template: str, question: str) -> str:
    return TEMPLATES.get(template, template).replace("{question}", question)


def arith_problems(aha: str, options: str, seed: int, count: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "arith.jsonl")
        subprocess.run([aha, "data", "export", "--task", "arith", "--options", options, "--split", "train",
                        "--count", str(count), "--seed", str(seed), "--out", path], check=True,
                       stdout=subprocess.DEVNULL)
        return [json.loads(line) for line in open(path)]


def write(rows: list[dict], template: str, out: str):
    with open(out, "w") as f:
        for row in rows:
            f.write(json.dumps({"prompt": render(template, row["question"]), "answer": row["answer"]}) + "\n")
    print(f"prompts.py: wrote {len(rows)} prompts to {out}", file=sys.stderr)


# -- the check -----------------------------------------------------------------------------------------
def hf_tokenizer(model_dir: str):
    """The tokenizer TRL gets: AutoTokenizer when the model has a tokenizer_config.json, else tokenizer.json
    with config.json's eos_token_id as EOS and pad (examples/tiny/base has no tokenizer_config.json)."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast
    if os.path.exists(os.path.join(model_dir, "tokenizer_config.json")):
        tok = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    else:
        config = json.load(open(os.path.join(model_dir, "config.json")))
        tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(model_dir, "tokenizer.json"), padding_side="left")
        eos = tok.convert_ids_to_tokens(config["eos_token_id"])
        tok.eos_token = eos
        tok.pad_token = eos
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def aha_token_ids(aha: str, model_dir: str, text: str) -> list[int]:
    out = subprocess.run([aha, "tokenize", "--model", model_dir, "--text", text], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)["token_ids"]


def check(args) -> int:
    ours = [json.loads(line) for line in open(args.prompts)]
    samples = [json.loads(line) for line in open(args.samples)]
    G = args.group_size
    if len(samples) % G:
        print(f"check: {len(samples)} samples do not split into groups of {G}; was train.samples_per_step "
              "set to prompts_per_step x group_size?", file=sys.stderr)
        return 1
    logged = []
    for g in range(0, len(samples), G):
        group = samples[g:g + G]
        if any(s["prompt"] != group[0]["prompt"] or s["step"] != group[0]["step"] for s in group):
            print(f"check: samples {g}..{g + G - 1} are not one group", file=sys.stderr)
            return 1
        logged.append({"prompt": group[0]["prompt"], "answer": group[0]["answer"]})
    problems = 0
    if len(ours) < len(logged):
        print(f"check: {args.prompts} has {len(ours)} prompts, the aha run drew {len(logged)}", file=sys.stderr)
        problems += 1
    for k, (a, b) in enumerate(zip(logged, ours)):
        if a["prompt"].encode() != b["prompt"].encode() or a["answer"] != b["answer"]:
            problems += 1
            if problems <= 3:
                print(f"check: draw {k} differs:\n  aha {a!r}\n  ours {b!r}", file=sys.stderr)
    print(f"check: {min(len(ours), len(logged))} prompts compared byte for byte with {args.samples}: "
          f"{problems} differ")
    if args.model and args.aha:
        tok = hf_tokenizer(args.model)
        distinct = list(dict.fromkeys(p["prompt"] for p in ours[:args.token_check]))
        bad = 0
        for text in distinct:
            hf = tok(text)["input_ids"]
            ah = aha_token_ids(args.aha, args.model, text)
            if hf != ah:
                bad += 1
                if bad <= 3:
                    print(f"check: token ids differ for {text[:80]!r}:\n  HF  {hf}\n  aha {ah}", file=sys.stderr)
        print(f"check: token ids of {len(distinct)} prompts, HF tokenizer(text) (what TRL feeds) vs "
              f"`aha tokenize`: {bad} differ (first ids {tok(distinct[0])['input_ids'][:3]}, "
              f"bos {tok.bos_token!r})")
        problems += bad
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gsm8k")
    g.add_argument("--data", default="../shared/data/gsm8k/train.jsonl")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--count", type=int, required=True)
    g.add_argument("--template", default="r1zero")
    g.add_argument("--out", required=True)
    a = sub.add_parser("arith")
    a.add_argument("--aha", default="build/aha")
    a.add_argument("--options", default="{}")
    a.add_argument("--seed", type=int, default=11)
    a.add_argument("--count", type=int, required=True)
    a.add_argument("--template", default="compact")
    a.add_argument("--out", required=True)
    c = sub.add_parser("check")
    c.add_argument("--prompts", required=True)
    c.add_argument("--samples", required=True, help="an aha run's samples.jsonl with every completion logged")
    c.add_argument("--group-size", type=int, required=True)
    c.add_argument("--model", help="model directory: also compare token ids")
    c.add_argument("--aha", help="aha binary, for `aha tokenize`")
    c.add_argument("--token-check", type=int, default=64, help="how many prompts' token ids to compare")
    args = ap.parse_args()
    if args.cmd == "gsm8k":
        write(draw(gsm8k_pool(args.data), args.seed, args.count), args.template, args.out)
    elif args.cmd == "arith":
        write(arith_problems(args.aha, args.options, args.seed, args.count), args.template, args.out)
    else:
        sys.exit(check(args))


if __name__ == "__main__":
    main()
