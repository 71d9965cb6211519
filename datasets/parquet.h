// Parquet input (HuggingFace Hub datasets, veRL's prepared data): rows of a Parquet file as JSON objects, and
// the shard files of one split in a `datasets` folder. Reading is Arrow's own (parquet::arrow::FileReader
// from the pyarrow wheel, see cmake/FindAhaArrow.cmake); this file only turns its columns into JSON. No Arrow
// header is included here, so only datasets/parquet.cpp needs Arrow's include dirs.
//
// Column types and their JSON (every null slot, of any type, is null):
//   string, large_string, string_view     string
//   binary, large_binary, binary_view     string when valid UTF-8, else an error
//   bool                                  true / false
//   int8..int64, uint8..uint64             integer
//   float16, float32, float64             number; NaN and +-inf are null
//   null                                  null
//   list, large_list, fixed_size_list,    array
//   list_view, large_list_view
//   struct                                object (nlohmann::json sorts its keys, so field order is not kept)
//   map                                   object when the key type is a string type, else [[key, value], ...]
//   dictionary                            the decoded value
//   date32, date64                        "YYYY-MM-DD"
//   timestamp                             "YYYY-MM-DDTHH:MM:SS", then ".fff" / ".ffffff" / ".fffffffff" (the
//                                         unit's digits) when the fraction is not zero, then "Z" when the
//                                         type has a time zone (the instant is printed in UTC)
//   decimal32/64/128/256                  string of the decimal ("-12.340")
// Any other type (time, duration, interval, union, fixed_size_binary, ...) is an error naming the file, the
// column and the Arrow type, raised before any row is converted.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace aha::datasets {

// Every row of one Parquet file as a JSON object {column: value}, in file order (all row groups).
// std::runtime_error "<file>: cannot read as Parquet: <arrow's message>" when it is not readable, and
// "<file>: column '<path>': ..." for a type or value that has no JSON form (path: "prompt[].role" names a
// field inside a list of structs; "m{}.key" / "m{}.value" the keys and values of a map).
std::vector<nlohmann::json> read_parquet_rows(const std::filesystem::path& file);

// The shards of `split` in a HuggingFace datasets folder, sorted by name. The first of these layouts that
// has any file wins (the Hub's, then the ones `datasets` and hand-made folders use):
//   <dir>/data/<split>-NNNNN-of-NNNNN[-hash].parquet   <dir>/data/<split>.parquet
//   <dir>/<split>-*.parquet                            <dir>/<split>.parquet       <dir>/<split>/*.parquet
// Shards named -NNNNN-of-NNNNN must be complete (00000 .. total-1, one total). std::runtime_error naming
// the folder, the split and the .parquet files it does have when nothing matches or a shard is missing.
std::vector<std::filesystem::path> parquet_shards(const std::filesystem::path& dir, const std::string& split);

}  // namespace aha::datasets
