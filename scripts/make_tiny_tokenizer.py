#!/usr/bin/env python3
"""Dev-time only: trains the tiny byte-level BPE tokenizer(s) with HF `tokenizers` and writes the
parity fixtures the C++ tokenizer is tested against (tests never run Python).

Writes:
  --out    examples/tiny/tokenizer.json: BPE, pre_tokenizer Sequence[Digits(individual_digits),
           ByteLevel(add_prefix_space=False, use_regex=True)], decoder ByteLevel, <|endoftext|> = id 0,
           initial alphabet = all 256 ByteLevel chars (so every byte has a token).
  --cases  a JSON list of {"text", "ids"} with ids from HF encode(add_special_tokens=False).
  --split-out / --split-cases (optional): a second tokenizer whose pre_tokenizer is a Qwen2/Llama-3 style
           Split regex (it exercises Split and the `\\s+(?!\\S)` lookahead emulation) + ByteLevel without
           regex, a ByteLevel post_processor, and two non-special added tokens <think> and </think>.
  --variants (optional): the tiny model under other pre-tokenizers / added-token flags / merges formats
           (every Split behaviour, invert, String patterns, an empty-matching regex, GPT-2, DeepSeek-V3 and
           Llama-3 style patterns, lstrip/rstrip/single_word, legacy "a b" merges, ignore_merges), each with
           HF's ids and HF's decode of random id sequences (partial UTF-8 included).

--corpus FILE is plain UTF-8 text read line by line (as HF's `train(files)` does); cases take random
lines and random windows of consecutive lines. Without --corpus a stand-in corpus of arithmetic
dialogues is generated from --seed, so the outputs are reproducible.

Regenerate the committed fixtures (venv: ~/.cache/aha/venv with `pip install tokenizers`):
  ~/.cache/aha/venv/bin/python scripts/make_tiny_tokenizer.py --out examples/tiny/tokenizer.json \
      --cases tests/fixtures/tiny_tokenizer_cases.json --vocab-size 320 \
      --split-out tests/fixtures/split_tokenizer.json --split-cases tests/fixtures/split_tokenizer_cases.json \
      --variants tests/fixtures/tokenizer_variant_cases.json
"""
import argparse
import json
import random
import sys

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from tokenizers import AddedToken

EOS = "<|endoftext|>"
SPLIT_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def stand_in_corpus(rng: random.Random, n_docs: int) -> list[str]:
    """Arithmetic dialogues shaped like the real task prompts; returns the corpus as lines."""
    lines = []
    for _ in range(n_docs):
        terms = [rng.randint(1, 99) for _ in range(rng.randint(2, 3))]
        ops = [rng.choice("+-") for _ in range(len(terms) - 1)]
        question = " ".join([str(terms[0])] + [f"{op} {t}" for op, t in zip(ops, terms[1:])])
        steps, acc = [], terms[0]
        for op, t in zip(ops, terms[1:]):
            new = acc + t if op == "+" else acc - t
            steps.append(f"{acc} {op} {t} = {new}.")
            acc = new
        lines.append(f"User: What is {question}?")
        lines.append(f"Assistant: <think>{' '.join(steps)}</think> <answer>{acc}</answer>{EOS}")
    return lines


def edge_cases() -> list[str]:
    return [
        "", " ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "a\r\nb", "a \r\n b", " \n \n",
        "trailing space ", "trailing spaces   ", "  leading spaces", "a  b   c    d", "tab\tseparated\tvalues",
        "mixed \t \n whitespace \t\n", "x\u00a0y", "\u00a0\u00a0lead nbsp", "ideographic\u3000space",
        "line\u2028separator", "next\u0085line", "vertical\u000btab", "form\u000cfeed",
        "12345678901234567890", "3.14159 2,718 -42 +7 1e10", "0", "007",
        "数学很有趣", "答案是 60。", "日本語のテキスト", "한국어 문장", "emoji 🙂👍🏽 family 👨‍👩‍👧",
        "naïve café résumé Ångström", "Ελληνικά Русский العربية עברית", "combining e\u0301 a\u0308",
        "full-width １２３ digits", "roman Ⅻ and superscript ² ½ ٣",
        f"{EOS}", f"hello{EOS}world", f"a {EOS} b", f"{EOS}{EOS}", f"<|endoftext|<{EOS}>", "<|endoftext",
        "<think>reasoning</think> <answer>42</answer>", "</think><think>", "<thinker>",
        "!!!???...", "a...b---c", "(((x)))", "#$%&*@^~`|\\/", "'quoted' \"double\"",
        "don't", "it's", "we're", "I've", "I'm", "you'll", "he'd", "DON'T IT'S", "'s's", "rock'n'roll",
        "User: What is 37 + 48 - 25?\nAssistant: <think>37 + 48 = 85. 85 - 25 = 60.</think> "
        "<answer>60</answer>" + EOS,
    ]


def fuzz_cases(rng: random.Random, n: int) -> list[str]:
    """Random strings over a pool chosen to hit the regex corners (Unicode spaces, letters, digits)."""
    pool = list("abcXYZ019 '\t\n\r.,!?-+=<>|") + [
        "\u00a0", "\u3000", "\u2028", "\u0085", "\u000b", "\u000c", "\u2003", "é", "ß", "中", "文", "🙂",
        "\u0301", "²", "٣", "Ⅻ", "'s", "'S", "'ll", EOS, "<think>", "  ", "\n\n", " \n"]
    return ["".join(rng.choice(pool) for _ in range(rng.randint(1, 24))) for _ in range(n)]


def train(lines: list[str], vocab_size: int, pre_tokenizer, post_processor=None) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    if post_processor is not None:
        tok.post_processor = post_processor
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(lines, trainer=trainer)
    assert tok.token_to_id(EOS) == 0, "special token must be id 0"
    return tok


def write_cases(tok: Tokenizer, texts: list[str], path: str) -> None:
    cases = []
    for text in texts:
        ids = tok.encode(text, add_special_tokens=False).ids
        # Decode parity is part of the fixture contract: a case that HF itself cannot round-trip would
        # make the C++ round-trip check meaningless.
        assert tok.decode(ids, skip_special_tokens=False) == text, repr(text)
        cases.append({"text": text, "ids": ids})
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def case_texts(rng: random.Random, lines: list[str], n_lines: int, n_fuzz: int) -> list[str]:
    picked = rng.sample(lines, min(n_lines, len(lines)))
    windows = []
    for _ in range(max(1, n_lines // 10)):
        i = rng.randrange(len(lines))
        windows.append("\n".join(lines[i:i + rng.randint(2, 4)]))
    return edge_cases() + picked + windows + fuzz_cases(rng, n_fuzz)


DEEPSEEK_PATTERN = (r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+"
                    r"| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def variants(tiny: Tokenizer, rng: random.Random, lines: list[str], path: str) -> None:
    """The tiny model under other pipelines. Written as {"base": "examples/tiny/tokenizer.json" contents are
    not repeated; "texts": [...], "variants": [{"name", "patch", "ids", "decode_cases"}]} where `patch`
    replaces top-level keys of the tiny tokenizer JSON (keys of "model" are merged one by one) and ids[i]
    is HF's encoding of texts[i]."""
    pt = pre_tokenizers
    plain_bytes = pt.ByteLevel(add_prefix_space=False, use_regex=False)
    base = json.loads(tiny.to_str())

    def split(pattern, behavior, invert=False, regex=True):
        return pt.Split(Regex(pattern) if regex else pattern, behavior=behavior, invert=invert)

    def pre(p):
        tok = Tokenizer.from_str(tiny.to_str())
        tok.pre_tokenizer = p
        return {"pre_tokenizer": json.loads(tok.to_str())["pre_tokenizer"]}

    flags = Tokenizer.from_str(tiny.to_str())
    flags.add_tokens([AddedToken("<tool>", lstrip=True, rstrip=True, special=True),
                      AddedToken("cat", single_word=True), AddedToken("<think>", special=False)])
    named = [
        ("removed_spaces", pre(pt.Sequence([split(r"\s+", "removed"), plain_bytes]))),
        ("merged_with_previous", pre(pt.Sequence([split(r"[.,!?:]", "merged_with_previous"), plain_bytes]))),
        ("merged_with_next", pre(pt.Sequence([split(r"[.,!?:]", "merged_with_next"), plain_bytes]))),
        ("contiguous", pre(pt.Sequence([split(r"\p{N}|=", "contiguous"), plain_bytes]))),
        ("invert_removed", pre(pt.Sequence([split(r"\p{L}+", "removed", invert=True), plain_bytes]))),
        ("invert_isolated", pre(pt.Sequence([split(r"\s", "isolated", invert=True), plain_bytes]))),
        ("string_pattern", pre(pt.Sequence([split(" + ", "merged_with_next", regex=False), plain_bytes]))),
        ("empty_matches", pre(pt.Sequence([split(r"\p{N}*", "isolated"), plain_bytes]))),
        ("digits_grouped", pre(pt.Sequence([pt.Digits(individual_digits=False),
                                             pt.ByteLevel(add_prefix_space=False, use_regex=True)]))),
        ("gpt2_prefix_space", pre(pt.ByteLevel(add_prefix_space=True, use_regex=True))),
        ("deepseek_v3_style", pre(pt.Sequence([
            split(r"\p{N}{1,3}", "isolated"), split(r"[一-龥\u3040-ゟ゠-ヿ]+", "isolated"),
            split(DEEPSEEK_PATTERN, "isolated"), plain_bytes]))),
        ("llama3_style", pre(pt.Sequence([split(LLAMA3_PATTERN, "isolated"), plain_bytes]))),
        ("added_token_flags", {"added_tokens": json.loads(flags.to_str())["added_tokens"]}),
        ("legacy_merges", {"model": {"merges": [f"{a} {b}" for a, b in base["model"]["merges"]]}}),
        ("ignore_merges", {"model": {"ignore_merges": True}}),
        ("inline_flag", pre(pt.Sequence([split(r"(?i)'S|'T|X", "isolated"), plain_bytes]))),
    ]
    texts = edge_cases() + rng.sample(lines, 10) + [
        "a <tool> b", "a<tool>b", "x  <tool>  \n y", "cat", "a cat sat", "concat", "cats", "cat's", "_cat",
        "<think>cat</think>", "1+2 = 3! ok.", "end.", "a's X'tB x'S"] + fuzz_cases(rng, 20)
    out = {"texts": texts, "variants": []}
    for name, patch in named:
        data = json.loads(json.dumps(base))
        for key, value in patch.items():
            if key == "model":
                data["model"].update(value)
            else:
                data[key] = value
        tok = Tokenizer.from_str(json.dumps(data))
        ids = [tok.encode(t, add_special_tokens=False).ids for t in texts]
        decode_cases = []
        for _ in range(20):
            seq = [rng.randrange(tok.get_vocab_size()) for _ in range(rng.randint(1, 6))]
            skip = rng.random() < 0.3
            decode_cases.append({"ids": seq, "skip_special": skip, "text": tok.decode(seq, skip_special_tokens=skip)})
        out["variants"].append({"name": name, "patch": patch, "ids": ids, "decode_cases": decode_cases})
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", help="plain UTF-8 text, one training line per line (default: stand-in)")
    ap.add_argument("--out", required=True, help="tokenizer.json to write")
    ap.add_argument("--cases", required=True, help="parity cases JSON to write")
    ap.add_argument("--vocab-size", type=int, default=320)
    ap.add_argument("--split-out", help="also train the Split-regex tokenizer and write it here")
    ap.add_argument("--split-cases", help="parity cases for --split-out")
    ap.add_argument("--split-vocab-size", type=int, default=300)
    ap.add_argument("--variants", help="also write the pipeline-variant parity fixture here")
    ap.add_argument("--n-lines", type=int, default=200, help="corpus lines sampled into the cases")
    ap.add_argument("--n-fuzz", type=int, default=40, help="random strings added to the cases")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    if bool(args.split_out) != bool(args.split_cases):
        ap.error("--split-out and --split-cases go together")

    rng = random.Random(args.seed)
    if args.corpus:
        with open(args.corpus, encoding="utf-8") as f:
            lines = [line for line in f.read().splitlines() if line]
    else:
        lines = stand_in_corpus(rng, 2000)

    tiny = train(lines, args.vocab_size, pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]))
    tiny.save(args.out, pretty=False)
    write_cases(tiny, case_texts(rng, lines, args.n_lines, args.n_fuzz), args.cases)
    print(f"wrote {args.out} (vocab {tiny.get_vocab_size()}) and {args.cases}")
    if args.variants:
        variants(tiny, random.Random(args.seed + 1), lines, args.variants)
        print(f"wrote {args.variants}")

    if args.split_out:
        split = train(lines, args.split_vocab_size, pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
            post_processor=processors.ByteLevel(trim_offsets=False))
        split.add_tokens([AddedToken("<think>", special=False), AddedToken("</think>", special=False)])
        split.save(args.split_out, pretty=False)
        write_cases(split, case_texts(rng, lines, args.n_lines, args.n_fuzz), args.split_cases)
        print(f"wrote {args.split_out} (vocab {split.get_vocab_size()}) and {args.split_cases}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
