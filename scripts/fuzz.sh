#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang + ASan + UBSan, no LibTorch) in build-fuzz and runs one
# of them for a number of seconds over a corpus seeded from tests/fixtures.
#   scripts/fuzz.sh safetensors_header 600
#   scripts/fuzz.sh tokenizer 600 [extra libFuzzer flags...]
# The corpus grows in build-fuzz/corpus/<target> (kept between runs, never committed); a crash, leak or
# timeout is written to build-fuzz/artifacts/<target>/ and reproduces with
#   build-fuzz/tests/fuzz/fuzz_<target> <artifact file>
# Runs under `nice -n 19`: the fuzzer takes one core and yields it to compiles.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: scripts/fuzz.sh safetensors_header|tokenizer SECONDS [libFuzzer flags...]}
seconds=${2:-60}
shift $(( $# < 2 ? $# : 2 ))
case "$target" in
  safetensors_header) max_len=8192 ;;
  tokenizer) max_len=16384 ;;
  *) echo "unknown target '$target' (expected safetensors_header or tokenizer)" >&2; exit 2 ;;
esac

build=build-fuzz
if [[ ! -f $build/build.ninja ]]; then
  cmake -S . -B $build -G Ninja -DAHA_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Fuzz
fi
nice -n 19 ninja -C $build -j "${JOBS:-1}" "fuzz_$target"

corpus=$build/corpus/$target
artifacts=$build/artifacts/$target
mkdir -p "$corpus" "$artifacts"
case "$target" in
  safetensors_header)
    # Whole small files (valid ones), and the header alone of every fixture (the data of the larger ones
    # would only be truncated by -max_len).
    for f in $(find tests/fixtures -name '*.safetensors' | sort); do
      seed=$corpus/seed-$(echo "$f" | tr '/' '_')
      if (( $(stat -c %s "$f") <= max_len )); then
        cp "$f" "$seed"
      else
        header_length=$(od -An -t u8 -N 8 "$f" | tr -d ' ')
        head -c $(( 8 + header_length )) "$f" >"$seed"
      fi
    done
    ;;
  tokenizer)
    cp examples/tiny/tokenizer.json "$corpus/seed-tiny.json"
    cp tests/fixtures/split_tokenizer.json "$corpus/seed-split.json"
    # Every pipeline variant the tokenizer tests check against HF, as a whole tokenizer.json.
    python3 - "$corpus" <<'PY'
import json, sys
base = json.load(open("examples/tiny/tokenizer.json"))
for variant in json.load(open("tests/fixtures/tokenizer_variant_cases.json"))["variants"]:
    data = json.loads(json.dumps(base))
    for key, value in variant["patch"].items():
        if key == "model":
            data["model"].update(value)
        else:
            data[key] = value
    with open(f"{sys.argv[1]}/seed-variant-{variant['name']}.json", "w") as out:
        json.dump(data, out)
PY
    ;;
esac

exec nice -n 19 "$build/tests/fuzz/fuzz_$target" "$corpus" \
  -max_total_time="$seconds" -max_len=$max_len -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
  -dict=tests/fuzz/json.dict -artifact_prefix="$artifacts/" "$@"
