#!/usr/bin/env bash
# Writes the Countdown data files of this example from the `countdown` generator, deterministically:
#   train.jsonl  4,000 training puzzles = the problems grpo.json draws (data.seed 11, data.train_size 4000)
#   test.jsonl     200 held-out puzzles = the problems grpo.json evaluates on (data.eval_seed 2, eval_problems 200)
# one TinyZero row {"target": T, "nums": [...]} per line. OPTIONS must stay equal to grpo.json's
# data.options, or the files and the generator describe different puzzles.
# Usage (from anywhere): examples/countdown/make_data.sh   (AHA=path/to/aha to use another build)
set -euo pipefail
cd "$(dirname "$0")/../.."
AHA=${AHA:-./build/aha}
OPTIONS='{"min_numbers": 3, "max_numbers": 3, "max_number": 9, "max_target": 99, "max_intermediate": 100, "max_failed_attempts": 6}'
"$AHA" data export --task countdown --options "$OPTIONS" --split train --count 4000 --seed 11 \
  --out examples/countdown/train.jsonl --force
"$AHA" data export --task countdown --options "$OPTIONS" --split test --count 200 --seed 2 \
  --out examples/countdown/test.jsonl --force
