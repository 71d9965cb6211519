#!/usr/bin/env python3
"""Writes tests/fixtures/data/: tiny Parquet files made by the real pyarrow and HuggingFace `datasets`, and
beside each one its rows as `<name>.expected.jsonl`, read back by pyarrow (`to_pylist()`) and turned into
JSON the way datasets/parquet.h maps Arrow types, so tests/datasets/test_parquet.cpp holds aha's reader to
pyarrow's.

Made with pyarrow 26.0.1 and datasets 5.2.0 (the same pyarrow that scripts/setup.sh pins for the C++ build):
    python3 -m venv /tmp/fixvenv && /tmp/fixvenv/bin/pip install pyarrow==26.0.1 datasets==5.2.0
    /tmp/fixvenv/bin/python scripts/make_data_fixtures.py
Other versions are refused: the files embed the writer's version ("parquet-cpp-arrow version 26.0.1"), and a
second run with the same versions rewrites every file byte for byte.
"""
import datetime
import decimal
import json
import math
import pathlib
import shutil

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PYARROW_VERSION, DATASETS_VERSION = "26.0.1", "5.2.0"
OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "data"


def to_json(value, type_):
    """The JSON datasets/parquet.h gives a pyarrow `to_pylist()` value of Arrow type `type_`."""
    if value is None:
        return None
    if pa.types.is_dictionary(type_):
        return to_json(value, type_.value_type)
    if pa.types.is_floating(type_):
        return float(value) if math.isfinite(value) else None
    if pa.types.is_binary(type_) or pa.types.is_large_binary(type_):
        return value.decode("utf-8")
    if pa.types.is_date(type_):
        return value.isoformat()
    if pa.types.is_timestamp(type_):
        if value.tzinfo is not None:  # printed as the UTC instant with a "Z"
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        timespec = "seconds"
        if value.microsecond:
            timespec = "milliseconds" if type_.unit == "ms" else "microseconds"
        return value.isoformat(timespec=timespec) + ("Z" if type_.tz else "")
    if pa.types.is_decimal(type_):
        return format(value, "f")
    if pa.types.is_map(type_):
        pairs = [(to_json(k, type_.key_type), to_json(v, type_.item_type)) for k, v in value]
        return dict(pairs) if pa.types.is_string(type_.key_type) else [list(p) for p in pairs]
    if pa.types.is_struct(type_):
        return {field.name: to_json(value[field.name], field.type) for field in type_}
    if pa.types.is_list(type_) or pa.types.is_large_list(type_) or pa.types.is_fixed_size_list(type_):
        return [to_json(item, type_.value_type) for item in value]
    assert isinstance(value, (bool, int, str)), (type_, value)
    return value


def write_expected(parquet_file):
    table = pq.read_table(parquet_file)
    lines = []
    for row in table.to_pylist():
        converted = {field.name: to_json(row[field.name], field.type) for field in table.schema}
        lines.append(json.dumps(converted, ensure_ascii=False, allow_nan=False) + "\n")
    parquet_file.with_suffix(".expected.jsonl").write_text("".join(lines), encoding="utf-8")


def gsm8k_style():
    """A Hub-layout `datasets` folder: data/<split>-NNNNN-of-NNNNN.parquet, as push_to_hub names the shards."""
    rows = [
        ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
         "How many clips did Natalia sell altogether in April and May?",
         "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether "
         "in April and May.\n#### 72"),
        ("Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. "
         "How much did she earn?",
         "Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.\nWorking 50 minutes, she earned 0.2 x 50 = "
         "$<<0.2*50=10>>10.\n#### 10"),
        ("A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts in total does it take?",
         "It takes 2/2=<<2/2=1>>1 bolt of white fiber\nSo the total amount of fabric is 2+1=<<2+1=3>>3 bolts of "
         "fabric\n#### 3"),
        ("Tom has 6 boxes with 7 pencils in each. How many pencils does he have?",
         "He has 6*7=<<6*7=42>>42 pencils.\n#### 42"),
        ("James writes a 3-page letter to 2 different friends twice a week. How many pages does he write a year?",
         "He writes each friend 3*2=<<3*2=6>>6 pages a week\nSo he writes 6*2=<<6*2=12>>12 pages every week\n"
         "That means he writes 12*52=<<12*52=624>>624 pages a year\n#### 624"),
        ("Janet's ducks lay 16 eggs per day. She eats three and bakes muffins with four. She sells the rest for "
         "$2 each. How much does she make every day?",
         "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 every day.\n"
         "#### 18"),
        ("A bakery makes 40 rolls and sells all but 2. How many rolls does it sell?",
         "It sells 40 - 2 = <<40-2=38>>38 rolls.\n#### 38"),
    ]
    shards = {"train": [rows[0:3], rows[3:5]], "test": [rows[5:7]]}
    folder = OUT / "gsm8k_style" / "data"
    folder.mkdir(parents=True)
    for split, parts in shards.items():
        for index, part in enumerate(parts):
            shard = datasets.Dataset.from_dict({"question": [q for q, _ in part], "answer": [a for _, a in part]})
            path = folder / f"{split}-{index:05d}-of-{len(parts):05d}.parquet"
            shard.to_parquet(str(path))
            write_expected(path)


def verl_math():
    """veRL's prepared-data schema (verl/examples/data_preprocess/gsm8k.py), written with pyarrow and zstd."""
    instruction = "Let's think step by step and output the final answer after \"####\"."
    problems = [("What is 7 * 6?", "42"), ("Compute 15 + 27 - 9.", "33"),
                ("A square has side 5. What is its area?", "25"), ("What is 2 to the power 10?", "1024")]
    schema = pa.schema([
        ("data_source", pa.string()),
        ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
        ("extra_info", pa.struct([("split", pa.string()), ("index", pa.int64())])),
    ])
    table = pa.Table.from_pylist([{
        "data_source": "openai/gsm8k",
        "prompt": [{"role": "user", "content": f"{question} {instruction}"}],
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": answer},
        "extra_info": {"split": "train", "index": index},
    } for index, (question, answer) in enumerate(problems)], schema=schema)
    path = OUT / "verl_math.parquet"
    pq.write_table(table, path, compression="zstd")
    write_expected(path)


def nested_types():
    """One column per type datasets/parquet.h maps, a null in every column's last row, two rows a row group."""
    utc = datetime.timezone.utc
    columns = {
        "i8": pa.array([-128, 0, 127, None], pa.int8()),
        "i16": pa.array([-32768, 1, 32767, None], pa.int16()),
        "i32": pa.array([-2**31, 2, 2**31 - 1, None], pa.int32()),
        "i64": pa.array([-2**63, 3, 2**63 - 1, None], pa.int64()),
        "u8": pa.array([0, 1, 255, None], pa.uint8()),
        "u32": pa.array([0, 7, 2**32 - 1, None], pa.uint32()),
        "u64": pa.array([0, 42, 2**64 - 1, None], pa.uint64()),
        "f16": pa.array(np.array([1.5, -0.25, np.inf, 0], np.float16), mask=np.array([0, 0, 0, 1], bool)),
        "f32": pa.array([0.1, float("nan"), -2.5, None], pa.float32()),
        "f64": pa.array([1e300, -0.5, float("-inf"), None], pa.float64()),
        "flag": pa.array([True, False, True, None], pa.bool_()),
        "nothing": pa.nulls(4),
        "text": pa.array(["hello", "", "naïve ✓ 数学", None], pa.string()),
        "large_text": pa.array(["a", "bb", "ccc", None], pa.large_string()),
        "ints": pa.array([[1, 2, 3], [], [None, 4], None], pa.list_(pa.int32())),
        "words": pa.array([["a"], ["b", "c"], [], None], pa.large_list(pa.string())),
        "pair": pa.array([[1, 2], [3, 4], [5, None], None], pa.list_(pa.int16(), 2)),
        "record": pa.array([
            {"name": "x", "tags": ["p", "q"], "score": 0.5},
            {"name": None, "tags": [], "score": None},
            {"name": "z", "tags": None, "score": 2.0},
            None,
        ], pa.struct([("name", pa.string()), ("tags", pa.list_(pa.string())), ("score", pa.float64())])),
        "counts": pa.array([[("a", 1), ("b", 2)], [], [("z", None)], None], pa.map_(pa.string(), pa.int32())),
        "names_by_id": pa.array([[(1, "one"), (2, "two")], [(3, None)], [], None], pa.map_(pa.int32(), pa.string())),
        "color": pa.array(["red", "green", "red", None]).dictionary_encode(),
        "day": pa.array([datetime.date(2024, 2, 29), datetime.date(1969, 12, 31), datetime.date(1, 1, 1), None],
                        pa.date32()),
        # pyarrow stores date64 as a Parquet DATE, so it reads back as date32.
        "day64": pa.array([datetime.date(2000, 1, 1), datetime.date(1970, 1, 1), datetime.date(9999, 12, 31), None],
                          pa.date64()),
        "moment": pa.array([datetime.datetime(2024, 1, 2, 3, 4, 5, 678000), datetime.datetime(1969, 12, 31, 23, 59, 59),
                            datetime.datetime(2000, 1, 1, 0, 0, 0, 1000), None], pa.timestamp("ms")),
        "moment_utc": pa.array([datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=utc),
                                datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=utc),
                                datetime.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=utc), None],
                               pa.timestamp("us", tz="UTC")),
        "price": pa.array([decimal.Decimal("1.500"), decimal.Decimal("-12.340"), decimal.Decimal("0.000"), None],
                          pa.decimal128(10, 3)),
        "big_price": pa.array([decimal.Decimal("12345678901234567890123456789.01"), decimal.Decimal("-0.10"),
                               decimal.Decimal("7.00"), None], pa.decimal256(40, 2)),
        "blob": pa.array([b"bytes", b"", "ünï".encode(), None], pa.binary()),
        "large_blob": pa.array([b"x", b"yz", b"", None], pa.large_binary()),
    }
    path = OUT / "nested_types.parquet"
    # No column statistics: they would triple the file and the reader does not use them.
    pq.write_table(pa.table(columns), path, row_group_size=2, write_statistics=False)
    write_expected(path)


def code_rows():
    """HumanEval-style rows: prompt (signature and docstring), canonical_solution, test with check(), gzip."""
    tasks = [
        ("HumanEval/0", "add",
         'def add(x: int, y: int) -> int:\n    """Add two numbers.\n    >>> add(2, 3)\n    5\n    """\n',
         "    return x + y\n",
         "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"),
        ("HumanEval/1", "is_palindrome",
         'def is_palindrome(text: str) -> bool:\n    """True when text reads the same backwards.\n'
         "    >>> is_palindrome('aba')\n    True\n    \"\"\"\n",
         "    return text == text[::-1]\n",
         "def check(candidate):\n    assert candidate('') is True\n    assert candidate('ab') is False\n"),
        ("HumanEval/2", "largest_divisor",
         'def largest_divisor(n: int) -> int:\n    """The largest number below n that divides n.\n'
         '    >>> largest_divisor(15)\n    5\n    """\n',
         "    for i in reversed(range(n)):\n        if n % i == 0:\n            return i\n",
         "def check(candidate):\n    assert candidate(15) == 5\n    assert candidate(49) == 7\n"),
    ]
    table = pa.table({
        "task_id": [t[0] for t in tasks],
        "prompt": [t[2] for t in tasks],
        "canonical_solution": [t[3] for t in tasks],
        "test": [t[4] for t in tasks],
        "entry_point": [t[1] for t in tasks],
    })
    path = OUT / "code_rows.parquet"
    pq.write_table(table, path, compression="gzip")
    write_expected(path)


def error_files():
    """Files aha must refuse, each with a message naming the file."""
    (OUT / "not_parquet.parquet").write_text("question,answer\nthis is CSV, not Parquet,42\n")
    whole = (OUT / "code_rows.parquet").read_bytes()
    (OUT / "truncated.parquet").write_bytes(whole[: len(whole) * 2 // 3])  # footer and magic cut off
    pq.write_table(pa.table({"payload": pa.array([b"ok", b"\xff\xfe not UTF-8"], pa.binary())}),
                   OUT / "binary_not_utf8.parquet")
    pq.write_table(pa.table({"id": [1, 2], "wake_up": pa.array([25_200_000_000, None], pa.time64("us"))}),
                   OUT / "unsupported_type.parquet")


def main():
    if (pa.__version__, datasets.__version__) != (PYARROW_VERSION, DATASETS_VERSION):
        raise SystemExit(f"make_data_fixtures.py: made with pyarrow {PYARROW_VERSION} and datasets {DATASETS_VERSION}, "
                         f"found {pa.__version__} and {datasets.__version__}; install those (see the top of this file)")
    datasets.disable_progress_bars()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    gsm8k_style()
    verl_math()
    nested_types()
    code_rows()
    error_files()
    print(f"wrote {sum(1 for p in OUT.rglob('*') if p.is_file())} files under {OUT}")


if __name__ == "__main__":
    main()
