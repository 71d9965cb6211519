// `aha data export`: writes a synthetic task's problems as a JSONL data file, so a run can read the same
// problems from a file (or another trainer can read them at all):
//   aha data export --task countdown|arith [--options JSON] --split train|test --count N [--seed S]
//                   --out FILE.jsonl [--layout rows|problems] [--force]
// Layouts, one JSON object per line:
//   rows      TinyZero's Countdown dataset layout {"target": T, "nums": [...]} (countdown only; its default)
//   problems  {"id", "question", "answer"} exactly as the task makes them (every task; arith's default)
// The problems are task.problems(split, count, seed): the generator's train or test split, the same list a
// run with that data.seed (train, with data.train_size = count) or data.eval_seed (test) draws.
// The file appears complete or not at all (written beside it, fsynced, then linked or renamed into place);
// an existing --out is an error unless --force replaces it.
#pragma once

#include <CLI/CLI.hpp>

namespace aha::cli {

// Adds the `data` subcommand (with `export`) to `app`. It runs from its parse callback: on success it
// ends the parse with CLI::Success (exit code 0, nothing printed), on failure with CLI::RuntimeError
// carrying the one-line message, so main's ParseError handler prints "aha: error: ..." and returns 1.
void add_data_command(CLI::App& app);

}  // namespace aha::cli
