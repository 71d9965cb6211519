// Parquet rows as JSON through Arrow's reader; see parquet.h for the type mapping. Arrow reads the whole file
// into an arrow::Table; each column is then converted chunk by chunk, one child array at a time (a list's
// values, a struct's fields, a dictionary's dictionary are converted once, then handed out to the rows),
// never value by value through Arrow's scalars or its JSON writer.
#include "datasets/parquet.h"

#include <arrow/array.h>
#include <arrow/io/file.h>
#include <arrow/memory_pool.h>
#include <arrow/table.h>
#include <arrow/type.h>
#include <arrow/util/float16.h>
#include <arrow/util/utf8.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <utility>

namespace aha::datasets {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Throws unless every value of `type` has a JSON form; `path` names where it sits inside its column.
void check_json_type(const arrow::DataType& type, const std::string& path, const std::string& file) {
  using arrow::Type;
  switch (type.id()) {
    case Type::NA:
    case Type::BOOL:
    case Type::INT8:
    case Type::INT16:
    case Type::INT32:
    case Type::INT64:
    case Type::UINT8:
    case Type::UINT16:
    case Type::UINT32:
    case Type::UINT64:
    case Type::HALF_FLOAT:
    case Type::FLOAT:
    case Type::DOUBLE:
    case Type::STRING:
    case Type::LARGE_STRING:
    case Type::STRING_VIEW:
    case Type::BINARY:
    case Type::LARGE_BINARY:
    case Type::BINARY_VIEW:
    case Type::DATE32:
    case Type::DATE64:
    case Type::TIMESTAMP:
    case Type::DECIMAL32:
    case Type::DECIMAL64:
    case Type::DECIMAL128:
    case Type::DECIMAL256:
      return;
    case Type::LIST:
    case Type::LARGE_LIST:
    case Type::FIXED_SIZE_LIST:
    case Type::LIST_VIEW:
    case Type::LARGE_LIST_VIEW:
      return check_json_type(*type.field(0)->type(), path + "[]", file);
    case Type::MAP: {
      const auto& map = static_cast<const arrow::MapType&>(type);
      check_json_type(*map.key_type(), path + "{}.key", file);
      return check_json_type(*map.item_type(), path + "{}.value", file);
    }
    case Type::STRUCT: {
      std::set<std::string> names;
      for (const auto& field : type.fields()) {
        if (!names.insert(field->name()).second)
          throw std::runtime_error(file + ": column '" + path + "': struct has two fields named '" +
                                   field->name() + "', which one JSON object cannot hold");
        check_json_type(*field->type(), path + "." + field->name(), file);
      }
      return;
    }
    case Type::DICTIONARY:
      return check_json_type(*static_cast<const arrow::DictionaryType&>(type).value_type(), path, file);
    default:
      throw std::runtime_error(file + ": column '" + path + "' has Arrow type " + type.ToString() +
                               ", which has no JSON form (datasets/parquet.h lists the types read)");
  }
}

bool is_string_type(arrow::Type::type id) {
  return id == arrow::Type::STRING || id == arrow::Type::LARGE_STRING || id == arrow::Type::STRING_VIEW;
}

int64_t floor_div(int64_t value, int64_t divisor) {
  const int64_t quotient = value / divisor;
  return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

std::string iso_date(int64_t days_since_epoch) {
  const std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{days_since_epoch}}};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

// "YYYY-MM-DDTHH:MM:SS[.fraction][Z]": the fraction in the unit's digits, only when not zero.
std::string iso_timestamp(int64_t value, const arrow::TimestampType& type) {
  int64_t per_second = 1;
  int digits = 0;
  switch (type.unit()) {
    case arrow::TimeUnit::SECOND:
      break;
    case arrow::TimeUnit::MILLI:
      per_second = 1'000, digits = 3;
      break;
    case arrow::TimeUnit::MICRO:
      per_second = 1'000'000, digits = 6;
      break;
    case arrow::TimeUnit::NANO:
      per_second = 1'000'000'000, digits = 9;
      break;
  }
  const int64_t seconds = floor_div(value, per_second);
  const int64_t fraction = value - seconds * per_second;
  const int64_t days = floor_div(seconds, 86'400);
  const int64_t second_of_day = seconds - days * 86'400;
  char text[48];
  int length = std::snprintf(text, sizeof text, "T%02d:%02d:%02d", static_cast<int>(second_of_day / 3600),
                             static_cast<int>(second_of_day / 60 % 60), static_cast<int>(second_of_day % 60));
  if (fraction != 0)
    length += std::snprintf(text + length, sizeof text - length, ".%0*lld", digits,
                            static_cast<long long>(fraction));
  std::string result = iso_date(days) + std::string(text, length);
  if (!type.timezone().empty()) result += 'Z';  // Arrow stores the UTC instant; the zone is only for display
  return result;
}

// Converts the arrays of one file's columns; `file` names the file in every error.
class JsonColumns {
 public:
  explicit JsonColumns(std::string file) : file_(std::move(file)) {}

  // One JSON value per slot of `array` (null for a null slot); `path` names the array inside its column.
  std::vector<json> convert(const arrow::Array& array, const std::string& path) const {
    using arrow::Type;
    std::vector<json> out(array.length());
    switch (array.type_id()) {
      case Type::NA:
        break;
      case Type::BOOL:
        fill(array, out, [&](int64_t i) { return json(as<arrow::BooleanArray>(array).Value(i)); });
        break;
      case Type::INT8:
        integers<arrow::Int8Array>(array, out);
        break;
      case Type::INT16:
        integers<arrow::Int16Array>(array, out);
        break;
      case Type::INT32:
        integers<arrow::Int32Array>(array, out);
        break;
      case Type::INT64:
        integers<arrow::Int64Array>(array, out);
        break;
      case Type::UINT8:
        integers<arrow::UInt8Array>(array, out);
        break;
      case Type::UINT16:
        integers<arrow::UInt16Array>(array, out);
        break;
      case Type::UINT32:
        integers<arrow::UInt32Array>(array, out);
        break;
      case Type::UINT64:
        integers<arrow::UInt64Array>(array, out);
        break;
      case Type::HALF_FLOAT:
        fill(array, out, [&](int64_t i) {
          return finite_number(
              arrow::util::Float16::FromBits(as<arrow::HalfFloatArray>(array).Value(i)).ToFloat());
        });
        break;
      case Type::FLOAT:
        fill(array, out, [&](int64_t i) { return finite_number(as<arrow::FloatArray>(array).Value(i)); });
        break;
      case Type::DOUBLE:
        fill(array, out, [&](int64_t i) { return finite_number(as<arrow::DoubleArray>(array).Value(i)); });
        break;
      // Table::ValidateFull has already checked that string columns hold UTF-8.
      case Type::STRING:
        strings<arrow::StringArray>(array, out);
        break;
      case Type::LARGE_STRING:
        strings<arrow::LargeStringArray>(array, out);
        break;
      case Type::STRING_VIEW:
        strings<arrow::StringViewArray>(array, out);
        break;
      case Type::BINARY:
        binaries<arrow::BinaryArray>(array, path, out);
        break;
      case Type::LARGE_BINARY:
        binaries<arrow::LargeBinaryArray>(array, path, out);
        break;
      case Type::BINARY_VIEW:
        binaries<arrow::BinaryViewArray>(array, path, out);
        break;
      case Type::DATE32:
        fill(array, out, [&](int64_t i) { return json(iso_date(as<arrow::Date32Array>(array).Value(i))); });
        break;
      case Type::DATE64:
        fill(array, out, [&](int64_t i) {
          return json(iso_date(floor_div(as<arrow::Date64Array>(array).Value(i), 86'400'000)));
        });
        break;
      case Type::TIMESTAMP: {
        const auto& type = static_cast<const arrow::TimestampType&>(*array.type());
        fill(array, out,
             [&](int64_t i) { return json(iso_timestamp(as<arrow::TimestampArray>(array).Value(i), type)); });
        break;
      }
      case Type::DECIMAL32:
        decimals<arrow::Decimal32Array>(array, out);
        break;
      case Type::DECIMAL64:
        decimals<arrow::Decimal64Array>(array, out);
        break;
      case Type::DECIMAL128:
        decimals<arrow::Decimal128Array>(array, out);
        break;
      case Type::DECIMAL256:
        decimals<arrow::Decimal256Array>(array, out);
        break;
      // Plain lists own disjoint ranges of their values, so the values can be moved out; views may share.
      case Type::LIST:
        lists(as<arrow::ListArray>(array), path, /*values_shared=*/false, out);
        break;
      case Type::LARGE_LIST:
        lists(as<arrow::LargeListArray>(array), path, /*values_shared=*/false, out);
        break;
      case Type::FIXED_SIZE_LIST:
        lists(as<arrow::FixedSizeListArray>(array), path, /*values_shared=*/false, out);
        break;
      case Type::LIST_VIEW:
        lists(as<arrow::ListViewArray>(array), path, /*values_shared=*/true, out);
        break;
      case Type::LARGE_LIST_VIEW:
        lists(as<arrow::LargeListViewArray>(array), path, /*values_shared=*/true, out);
        break;
      case Type::MAP:
        maps(as<arrow::MapArray>(array), path, out);
        break;
      case Type::STRUCT:
        structs(as<arrow::StructArray>(array), path, out);
        break;
      case Type::DICTIONARY: {
        const auto& dictionary_array = as<arrow::DictionaryArray>(array);
        const std::vector<json> dictionary = convert(*dictionary_array.dictionary(), path);
        fill(array, out, [&](int64_t i) { return dictionary[dictionary_array.GetValueIndex(i)]; });
        break;
      }
      default:  // check_json_type has refused every other type before any conversion
        throw std::logic_error(file_ + ": column '" + path + "': unchecked Arrow type " +
                               array.type()->ToString());
    }
    return out;
  }

 private:
  template <class ArrayT>
  static const ArrayT& as(const arrow::Array& array) {
    return static_cast<const ArrayT&>(array);
  }

  // out[i] = value_of(i) for every non-null slot; null slots stay JSON null.
  template <class ValueOf>
  static void fill(const arrow::Array& array, std::vector<json>& out, const ValueOf& value_of) {
    for (int64_t i = 0; i < array.length(); ++i)
      if (array.IsValid(i)) out[i] = value_of(i);
  }

  static json finite_number(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

  template <class ArrayT>
  static void integers(const arrow::Array& array, std::vector<json>& out) {
    fill(array, out, [&](int64_t i) { return json(as<ArrayT>(array).Value(i)); });
  }

  template <class ArrayT>
  static void strings(const arrow::Array& array, std::vector<json>& out) {
    fill(array, out, [&](int64_t i) { return json(std::string(as<ArrayT>(array).GetView(i))); });
  }

  template <class ArrayT>
  void binaries(const arrow::Array& array, const std::string& path, std::vector<json>& out) const {
    arrow::util::InitializeUTF8();
    fill(array, out, [&](int64_t i) {
      const std::string_view bytes = as<ArrayT>(array).GetView(i);
      if (!arrow::util::ValidateUTF8(bytes))
        throw std::runtime_error(file_ + ": column '" + path + "': a binary value of " +
                                 std::to_string(bytes.size()) +
                                 " bytes is not valid UTF-8, so it has no JSON string form");
      return json(std::string(bytes));
    });
  }

  template <class ArrayT>
  static void decimals(const arrow::Array& array, std::vector<json>& out) {
    fill(array, out, [&](int64_t i) { return json(as<ArrayT>(array).FormatValue(i)); });
  }

  template <class ListArrayT>
  void lists(const ListArrayT& array, const std::string& path, bool values_shared,
             std::vector<json>& out) const {
    std::vector<json> values = convert(*array.values(), path + "[]");
    fill(array, out, [&](int64_t i) {
      json items = json::array();
      const int64_t begin = array.value_offset(i);
      for (int64_t k = begin; k < begin + array.value_length(i); ++k)
        items.push_back(values_shared ? values[k] : std::move(values[k]));
      return items;
    });
  }

  void maps(const arrow::MapArray& array, const std::string& path, std::vector<json>& out) const {
    std::vector<json> keys = convert(*array.keys(), path + "{}.key");
    std::vector<json> items = convert(*array.items(), path + "{}.value");
    const bool as_object = is_string_type(array.map_type()->key_type()->id());
    fill(array, out, [&](int64_t i) {
      json map = as_object ? json::object() : json::array();
      const int64_t begin = array.value_offset(i);
      for (int64_t k = begin; k < begin + array.value_length(i); ++k) {
        if (!as_object) {
          map.push_back(json::array({std::move(keys[k]), std::move(items[k])}));
          continue;
        }
        const std::string& key = keys[k].template get_ref<const std::string&>();  // map keys are never null
        if (map.contains(key))
          throw std::runtime_error(file_ + ": column '" + path + "': a map holds the key \"" + key +
                                   "\" twice, which one JSON object cannot hold");
        map[key] = std::move(items[k]);
      }
      return map;
    });
  }

  void structs(const arrow::StructArray& array, const std::string& path, std::vector<json>& out) const {
    fill(array, out, [](int64_t) { return json::object(); });
    const auto& fields = array.struct_type()->fields();
    for (int f = 0; f < array.num_fields(); ++f) {
      std::vector<json> values = convert(*array.field(f), path + "." + fields[f]->name());
      for (int64_t i = 0; i < array.length(); ++i)
        if (array.IsValid(i)) out[i][fields[f]->name()] = std::move(values[i]);
    }
  }

  std::string file_;
};

std::shared_ptr<arrow::Table> read_table(const fs::path& file) {
  const std::string name = file.string();
  const auto unreadable = [&](const std::string& message) {
    return std::runtime_error(name + ": cannot read as Parquet: " + message);
  };
  try {
    auto input = arrow::io::ReadableFile::Open(name);
    if (!input.ok()) throw unreadable(input.status().ToString());
    auto reader = parquet::arrow::OpenFile(*input, arrow::default_memory_pool());
    if (!reader.ok()) throw unreadable(reader.status().ToString());
    auto table = (*reader)->ReadTable();
    if (!table.ok()) throw unreadable(table.status().ToString());
    // Checks offsets and UTF-8 of every string column, so the conversion below can trust the arrays.
    if (const arrow::Status valid = (*table)->ValidateFull(); !valid.ok()) throw unreadable(valid.ToString());
    return *table;
  } catch (const parquet::ParquetException& e) {  // a few reader paths throw instead of returning a Status
    throw unreadable(e.what());
  }
}

// "train-00001-of-00004.parquet" (also with a "-<hash>" before ".parquet", as older Hub uploads have) ->
// {1, 4}; nothing for any other name.
std::optional<std::pair<int, int>> shard_number(const std::string& file_name, const std::string& split) {
  static const std::regex pattern(R"(^-(\d{5})-of-(\d{5})(-[0-9a-zA-Z]+)?\.parquet$)");
  std::smatch match;
  const std::string rest = file_name.starts_with(split) ? file_name.substr(split.size()) : std::string();
  if (!std::regex_match(rest, match, pattern)) return std::nullopt;
  return std::pair{std::stoi(match[1]), std::stoi(match[2])};
}

template <class Keep>
std::vector<fs::path> parquet_files(const fs::path& folder, const Keep& keep) {
  std::vector<fs::path> files;
  std::error_code error;
  if (!fs::is_directory(folder, error)) return files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".parquet") && fs::is_regular_file(entry.path(), error) && keep(name))
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename().string() < b.filename().string();
  });
  return files;
}

// The .parquet files in `dir` and one folder level below it, relative to `dir`, for error messages.
std::string parquet_files_listing(const fs::path& dir) {
  std::vector<std::string> names;
  const auto any = [](const std::string&) { return true; };
  for (const auto& file : parquet_files(dir, any)) names.push_back(file.filename().string());
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_directory())
      for (const auto& file : parquet_files(entry.path(), any))
        names.push_back((entry.path().filename() / file.filename()).string());
  if (names.empty()) return "it has no .parquet files";
  std::sort(names.begin(), names.end());
  constexpr size_t shown = 20;
  std::string listing = "it has ";
  for (size_t i = 0; i < std::min(names.size(), shown); ++i) listing += (i ? ", " : "") + names[i];
  if (names.size() > shown) listing += " and " + std::to_string(names.size() - shown) + " more";
  return listing;
}

}  // namespace

std::vector<json> read_parquet_rows(const fs::path& file) {
  const std::string name = file.string();
  const std::shared_ptr<arrow::Table> table = read_table(file);
  const arrow::Schema& schema = *table->schema();
  std::set<std::string> column_names;
  for (const auto& field : schema.fields()) {
    if (!column_names.insert(field->name()).second)
      throw std::runtime_error(name + ": two columns are named '" + field->name() +
                               "', which one JSON object cannot hold");
    check_json_type(*field->type(), field->name(), name);
  }

  std::vector<json> rows(table->num_rows(), json::object());
  const JsonColumns columns(name);
  for (int c = 0; c < table->num_columns(); ++c) {
    const std::string& column = schema.field(c)->name();
    int64_t row = 0;
    for (const auto& chunk : table->column(c)->chunks()) {
      std::vector<json> values = columns.convert(*chunk, column);
      for (auto& value : values) rows[row++][column] = std::move(value);
    }
  }
  return rows;
}

std::vector<fs::path> parquet_shards(const fs::path& dir, const std::string& split) {
  const std::string where = dir.string() + ": split '" + split + "'";
  std::error_code error;
  if (!fs::is_directory(dir, error)) throw std::runtime_error(where + ": not a folder");
  if (split.empty() || split.find('/') != std::string::npos)
    throw std::runtime_error(where + ": a split name is one non-empty path component, like 'train'");

  const std::string single = split + ".parquet";
  const std::vector<std::vector<fs::path>> layouts = {
      parquet_files(dir / "data",
                    [&](const std::string& name) { return shard_number(name, split).has_value(); }),
      parquet_files(dir / "data", [&](const std::string& name) { return name == single; }),
      parquet_files(dir, [&](const std::string& name) { return name.starts_with(split + "-"); }),
      parquet_files(dir, [&](const std::string& name) { return name == single; }),
      parquet_files(dir / split, [](const std::string&) { return true; }),
  };
  const auto found =
      std::find_if(layouts.begin(), layouts.end(), [](const auto& files) { return !files.empty(); });
  if (found == layouts.end())
    throw std::runtime_error(where + ": no Parquet shards (looked for data/" + split +
                             "-NNNNN-of-NNNNN.parquet, data/" + single + ", " + split + "-*.parquet, " +
                             single + ", " + split + "/*.parquet); " + parquet_files_listing(dir));

  // Numbered shards must all be there: a missing one would silently drop part of the split.
  std::vector<std::pair<int, int>> numbers;  // {index, total} of each file, in name order
  for (const auto& file : *found)
    if (const auto number = shard_number(file.filename().string(), split)) numbers.push_back(*number);
  if (numbers.size() == found->size()) {
    const int total = static_cast<int>(numbers.size());
    for (int i = 0; i < total; ++i)
      if (numbers[i] != std::pair{i, total})
        throw std::runtime_error(where + ": the shards are incomplete (each of " + split +
                                 "-NNNNN-of-TTTTT for NNNNN = 0 .. TTTTT-1 once, with one TTTTT); " +
                                 parquet_files_listing(dir));
  }
  return *found;
}

}  // namespace aha::datasets
