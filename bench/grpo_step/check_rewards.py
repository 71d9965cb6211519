#!/usr/bin/env python3
"""Holds the Python reward ports (aha_rewards.py and the aha_math_*.py it uses) to aha's own rules: scores a table of
literal cases, random completions built from the pieces extraction and parsing branch on, and every
completion of any aha runs given, with both the port and
`aha score --reward RULE`, and fails on the first disagreement. A disagreement means the TRL side of the
benchmark would reward differently from aha.

    ~/.cache/aha/venv/bin/python bench/grpo_step/check_rewards.py --aha build/aha \
        [--samples /tmp/aha-bench-runs/qwen05b/samples.jsonl ...]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aha_rewards  # noqa: E402

# (completion, answer) pairs meant to reach every branch of extraction and number reading that a GSM8K
# or arith completion can take; the expected score is whatever aha says.
GSM8K_CASES = [
    ("<think>18 eggs</think> <answer>18</answer>", "18"),
    ("<think>x</think> <answer>$18</answer>", "18"),
    ("<think>x</think> <answer>$1,000</answer>", "1000"),
    ("<think>x</think> <answer>1000.00</answer>", "1000"),
    ("<think>x</think> <answer>1000 dollars</answer>", "1000"),
    ("<think>x</think> <answer>\\boxed{1000}</answer>", "1000"),
    ("<think>x</think> <answer>50%</answer>", "50"),
    ("<think>x</think> <answer>She made $18 a day</answer>", "18"),
    ("<think>x</think> <answer>10+John's age</answer>", "10"),
    ("<think>x</think> <answer>between 3 and 4</answer>", "3"),
    ("<think>x</think> <answer>18.5</answer>", "18"),
    ("<think>x</think> <answer>\\frac{36}{2}</answer>", "18"),
    ("<think>x</think> <answer>2\\frac{1}{2}</answer>", "2.5"),
    ("<think>x</think> <answer>x = 27</answer>", "27"),
    ("<think>x</think> <answer>3 \\times 6</answer>", "18"),
    ("<think>x</think> <answer>2^{10}</answer>", "1024"),
    ("<think>x</think> <answer>64 square feet</answer>", "64"),
    ("<think>x</think> <answer>5 cm</answer>", "5"),
    ("<think>x</think> <answer>1,2</answer>", "12"),
    ("<think>x</think> <answer>-3</answer>", "-3"),
    ("<think>x</think> <answer>\\$ 7.50</answer>", "7.5"),
    ("<think>x</think> <answer>1e3</answer>", "1000"),
    ("<think>x</think> <answer>\\sqrt{16}</answer>", "4"),
    ("<think>x</think> <answer>5!</answer>", "120"),
    ("<think>x</think> <answer>\\text{18 apples}</answer>", "18"),
    ("<think>x</think> <answer>18 \\text{ apples}</answer>", "18"),
    ("The answer is 18.", "18"),
    ("so the final answer is $18$. I hope it helps", "18"),
    ("#### 72", "#### 72"),
    ("A: 72", "72"),
    ("blah \\boxed{3}, then after checking we get \\boxed{4}", "4"),
    ("\\boxed{1}, \\boxed{2}", "2"),
    ("we get 12 apples and 7 pears, 19 fruit", "19"),
    ("total = 3/4", "0.75"),
    ("nothing here", "5"),
    ("", "5"),
    ("<answer></answer>", "0"),
    ("<think>72 \u00d7 2 = 144</think> <answer>144\u00a0km</answer>", "144"),
    ("\u2212 5", "-5"),
    ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72", "Natalia sold 48/2 = 24 clips in May.\n#### 72"),
    ("<think>..</think> <answer>1\\,000</answer>", "1000"),
    ("<think>..</think> <answer>1{,}000</answer>", "1000"),
    ("<think>..</think> <answer>(2,500)</answer>", "2500"),
    ("<think>..</think> <answer>\\dfrac{9}{3} hours</answer>", "3"),
    ("<think>..</think> <answer>45^\\circ</answer>", "45"),
    ("<think>..</think> <answer>0.5 \\cdot 36</answer>", "18"),
    ("<think>..</think> <answer>18 percent</answer>", "18"),
    ("<think>..</think> <answer>\\pi</answer>", "3"),
    ("<think>..</think> <answer>2 \\pm 1</answer>", "3"),
    ("<think>..</think> <answer>7 hrs</answer>", "7"),
    ("<think>..</think> <answer>3 thousand</answer>", "3000"),
    ("<think>..</think> <answer>[18]</answer>", "18"),
    ("<think>..</think> <answer>{18}</answer>", "18"),
    ("<think>..</think> <answer>|−18|</answer>", "18"),
    ("<think>..</think> <answer>18 \\approx 18.0</answer>", "18"),
    ("<think>..</think> <answer>1,000,000</answer>", "1000000"),
    ("<think>..</think> <answer>10^3</answer>", "1000"),
    ("<think>..</think> <answer>3**2</answer>", "9"),
    ("<think>..</think> <answer>\\sqrt[3]{27}</answer>", "3"),
    ("<think>..</think> <answer>-2\\frac12</answer>", "-2.5"),
    ("<think>..</think> <answer>\\left(18\\right)</answer>", "18"),
    ("<think>..</think> <answer>18.</answer>", "18"),
    ("<think>..</think> <answer>.5</answer>", "0.5"),
    ("<think>..</think> <answer>0018</answer>", "18"),
    ("<think>..</think> <answer>1.8e1</answer>", "18"),
    ("<think>..</think> <answer>\\binom{5}{2}</answer>", "10"),
    ("<think>..</think> <answer>\\lfloor 18.5 \\rfloor</answer>", "18"),
    ("<think>..</think> <answer>\\text{18}</answer>", "18"),
    ("<think>..</think> <answer>18 \\text{ dollars}^2</answer>", "18"),
    ("<think>..</think> <answer>\\mathrm{18}</answer>", "18"),
    ("<think>..</think> <answer>18 \\mbox{ USD}</answer>", "18"),
    ("<think>..</think> <answer>x=3, y=4</answer>", "3"),
    ("<think>..</think> <answer>3 men</answer>", "3"),
    ("<think>..</think> <answer>2 hours 30 min</answer>", "2"),
    ("The answer is: **18**", "18"),
    ("<think>..</think> <answer>52_8</answer>", "42"),
    ("<think>..</think> <answer>\\frac{1}{0}</answer>", "1"),
    ("<think>..</think> <answer>0^{-1}</answer>", "1"),
    ("<think>..</think> <answer>4^{1/2}</answer>", "2"),
    ("<think>..</think> <answer>\\sin 0</answer>", "0"),
    ("<think>..</think> <answer>sgn(-5)</answer>", "-1"),
    ("<think>..</think> <answer>2(3+6)</answer>", "18"),
    ("<think>..</think> <answer>(1+2)(3+3)</answer>", "18"),
    ("<think>..</think> <answer>18 and 19</answer>", "18"),
    ("<think>..</think> <answer>\\{18\\}</answer>", "18"),
    ("<think>..</think> <answer>18 \\div 1</answer>", "18"),
    ("<think>..</think> <answer>3.60 \\times 5</answer>", "18"),
    ("<think>..</think> <answer>100\\%</answer>", "100"),
    ("<think>..</think> <answer>\\boxed 18</answer>", "18"),
    ("<think>..</think> <answer>\\fbox{18}</answer>", "18"),
    ("<think>..</think> <answer>\\boxed{\\frac{36}{2}}</answer>", "18"),
    ("text \\boxed{17 and the rest", "17"),
    ("\\(18\\) is it", "18"),
    ("\\[18\\]", "18"),
    ("$$18$$", "18"),
    ("costs $5 and $18 in total", "18"),
    ("we computed 3.5, finally 18", "18"),
    ("a-18", "-18"),
    ("x 1-18", "18"),
]

ARITH_CASES = [
    (" <think>87 + 80 = 167. 167 - 37 = 130.</think> <answer>130</answer>", "130"),
    (" <think>x</think> <answer>+0130</answer>", "130"),
    (" <think>x</think> <answer> 130 </answer>", "130"),
    (" <think>x</think> <answer>130.0</answer>", "130"),
    (" <think>x</think> <answer>-0</answer>", "0"),
    (" <think>x</think> <answer>1,30</answer>", "130"),
    (" <think>x</think> <answer>12</answer> <answer>130</answer>", "130"),
    (" <think>x</think> <answer>130", "130"),
    ("<think></think><answer>5</answer>", "5"),
    ("<think>a</think> x <answer>5</answer>", "5"),
    ("<think>a</think>\n<answer> </answer>", "5"),
    ("<think>a</think> <answer>5</answer> trailing", "5"),
    ("<think>a <think> b</think> <answer>5</answer>", "5"),
    ("  <think>a</think>\t<answer>5</answer>\n", "5"),
    ("<think>a</think> <answer>5</answer></answer>", "5"),
]


FUZZ_PIECES = ["\\boxed{", "\\fbox{", "}", "{", "$", "$$", "\\frac", "\\dfrac", "1", "2", "3", "18", "0", ",",
               ".", " ", "000", "-", "+", "x", "=", "%", "\\%", "\\text{", "apples", " dollars", "cm", "^", "**",
               "(", ")", "[", "]", "|", "\\sqrt", "\\sqrt[3]", "answer is ", "The answer is: ", "<answer>",
               "</answer>", "<think>", "</think>", "\n", "A:", "####", "\\pi", "e", "E", "!", "/", "*", "\\cdot",
               "\\times", " and ", " or ", "\\,", "{,}", ",\\!", "\u2212", "\u00d7", "\u00b0", " pct", "_",
               "8", "\\left(", "\\right)", "\\(", "\\)", "\\$", "\\pm", "\\infty", "\\binom", "\\lfloor",
               "\\rfloor", "hrs", " thousand", "\\approx", "I hope", ". ", "\u00e9"]


def fuzz_cases(n: int, seed: int = 0) -> list:
    """Random completions built from the pieces extraction and parsing branch on. Half of them get the
    number the port reads from them as their answer, so a disagreement in the number read (not only in
    whether one is read) shows as a score that differs."""
    import random
    from aha_text import to_bytes_text
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        text = "".join(rng.choice(FUZZ_PIECES) for _ in range(rng.randint(1, 14)))
        answer = rng.choice(["18", "3", "1000", "0.5", "-5", "120", "2"])
        value = aha_rewards.gsm8k_prediction(to_bytes_text(text))
        if value is not None and rng.random() < 0.5 and 10 ** 12 % value.denominator == 0:
            answer = str(value.numerator // value.denominator) if value.denominator == 1 else f"{float(value):.12g}"
        cases.append((text, answer))
    return cases


def aha_scores(aha: str, rule: str, cases: list) -> list:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cases.jsonl")
        with open(path, "w") as f:
            for completion, answer in cases:
                f.write(json.dumps({"completion": completion, "answer": answer}) + "\n")
        out = subprocess.run([aha, "score", "--reward", rule, "--in", path, "--workers", "1"],
                             check=True, capture_output=True, text=True).stdout
    return [json.loads(line)["rules"][rule] for line in out.splitlines() if line.strip()]


def port_scores(rule: str, cases: list) -> list:
    score = aha_rewards.RULES[rule]
    out = []
    for completion, answer in cases:
        try:
            out.append(score(completion, answer))
        except ValueError:
            out.append(0.0)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aha", default="build/aha")
    ap.add_argument("--samples", nargs="*", default=[], help="samples.jsonl of aha runs: their completions too")
    ap.add_argument("--fuzz", type=int, default=3000, help="random completions from FUZZ_PIECES per rule")
    args = ap.parse_args()

    fuzz = fuzz_cases(args.fuzz)
    suites = {"gsm8k": GSM8K_CASES + fuzz, "format": GSM8K_CASES + ARITH_CASES + fuzz,
              "accuracy": ARITH_CASES + [(c, a if a.lstrip("-").isdigit() else "3") for c, a in fuzz]}
    for path in args.samples:
        for line in open(path):
            s = json.loads(line)
            case = (s["completion"], s["answer"])
            for rule in s["rules"]:
                if rule in suites:
                    suites[rule].append(case)
    failures = 0
    for rule, cases in suites.items():
        expected, got = aha_scores(args.aha, rule, cases), port_scores(rule, cases)
        bad = [(c, e, g) for c, e, g in zip(cases, expected, got) if e != g]
        hits = sum(1 for e in expected if e > 0)
        print(f"{rule}: {len(cases)} cases ({hits} scored > 0 by aha), {len(bad)} disagreements")
        for (completion, answer), e, g in bad[:10]:
            print(f"  aha {e} port {g}: answer {answer!r} completion {completion[-200:]!r}")
        failures += len(bad)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
