// safetensors I/O (format in safetensors.h). The reader validates the header the way the reference Rust
// crate does (dtype, shape, byte size, offsets tiling the buffer exactly, no trailing bytes) before it
// allocates anything, then reads each tensor with pread straight into its own CPU storage. The writer lays
// tensors out in name order and replaces the target atomically (tmp + fsync + rename + fsync of the dir).
#include "policy/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace aha::policy {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; a big-endian host would need byte swaps");

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit

struct DType {
  std::string_view name;
  torch::ScalarType type;
  uint64_t itemsize;
};
constexpr DType kDTypes[] = {{"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4},
                             {"F16", torch::kFloat16, 2}, {"BF16", torch::kBFloat16, 2},
                             {"I64", torch::kInt64, 8},   {"I32", torch::kInt32, 4},
                             {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},
                             {"U8", torch::kUInt8, 1},    {"BOOL", torch::kBool, 1},
                             {"F8_E4M3", torch::kFloat8_e4m3fn, 1}, {"F8_E5M2", torch::kFloat8_e5m2, 1}};
constexpr std::string_view kSupported = "F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2";

[[noreturn]] void fail(const fs::path& file, const std::string& message) {
  throw std::runtime_error(file.string() + ": " + message);
}

std::string short_dump(const json& j) {
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

std::string quoted(const std::string& name) {
  return "tensor '" + name + "'";
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

void read_exact(const fs::path& file, int fd, void* dst, uint64_t bytes, uint64_t offset) {
  auto* out = static_cast<char*>(dst);
  while (bytes > 0) {
    const ssize_t n = ::pread(fd, out, std::min<uint64_t>(bytes, 1ull << 30), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      fail(file, std::string("read failed at byte ") + std::to_string(offset) + ": " +
                     (n == 0 ? "unexpected end of file" : std::strerror(errno)));
    out += n, bytes -= static_cast<uint64_t>(n), offset += static_cast<uint64_t>(n);
  }
}

void write_exact(const fs::path& file, int fd, const void* src, uint64_t bytes) {
  const auto* in = static_cast<const char*>(src);
  while (bytes > 0) {
    const ssize_t n = ::write(fd, in, std::min<uint64_t>(bytes, 1ull << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(file, std::string("write failed: ") + std::strerror(errno));
    in += n, bytes -= static_cast<uint64_t>(n);
  }
}

struct Entry {
  std::string name;
  const DType* dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

struct Header {
  uint64_t data_start = 0;  // absolute file offset of the data buffer
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
};

uint64_t non_negative(const json& v) {
  if (!v.is_number_integer() || (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0)) {
    throw std::invalid_argument("");
  }
  return v.get<uint64_t>();
}

Entry parse_entry(const fs::path& file, const std::string& name, const json& v, uint64_t buffer_size) {
  const std::string who = quoted(name);
  if (!v.is_object())
    fail(file, who + ": expected {\"dtype\", \"shape\", \"data_offsets\"}, got " + short_dump(v));
  Entry e{name, nullptr, {}, 0, 0};

  const auto dtype = v.find("dtype");
  if (dtype == v.end() || !dtype->is_string()) fail(file, who + ": missing or non-string \"dtype\"");
  const std::string dtype_name = dtype->get<std::string>();
  for (const DType& d : kDTypes) {
    if (d.name == dtype_name) e.dtype = &d;
  }
  if (e.dtype == nullptr) {
    fail(file, who + ": unsupported dtype '" + dtype_name + "' (supported: " + std::string(kSupported) + ")");
  }

  const auto shape = v.find("shape");
  uint64_t numel = 1;
  try {
    if (shape == v.end() || !shape->is_array()) throw std::invalid_argument("");
    for (const json& d : *shape) {
      const uint64_t dim = non_negative(d);
      if (dim > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(numel, dim, &numel)) {
        throw std::invalid_argument("");
      }
      e.shape.push_back(static_cast<int64_t>(dim));
    }
  } catch (const std::invalid_argument&) {
    fail(file, who + ": \"shape\" must be a list of non-negative integers, got " +
                   (shape == v.end() ? std::string("nothing") : short_dump(*shape)));
  }

  const auto offsets = v.find("data_offsets");
  try {
    if (offsets == v.end() || !offsets->is_array() || offsets->size() != 2) throw std::invalid_argument("");
    e.begin = non_negative((*offsets)[0]);
    e.end = non_negative((*offsets)[1]);
    if (e.end < e.begin) throw std::invalid_argument("");
  } catch (const std::invalid_argument&) {
    fail(file, who + ": \"data_offsets\" must be [begin, end] with 0 <= begin <= end, got " +
                   (offsets == v.end() ? std::string("nothing") : short_dump(*offsets)));
  }

  uint64_t bytes = 0;
  if (__builtin_mul_overflow(numel, e.dtype->itemsize, &bytes) || bytes != e.end - e.begin) {
    fail(file, who + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] hold " +
                   std::to_string(e.end - e.begin) + " bytes but shape " + short_dump(*shape) + " of " +
                   dtype_name + " needs " + std::to_string(numel) + " x " +
                   std::to_string(e.dtype->itemsize));
  }
  if (e.end > buffer_size) {
    fail(file, who + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                   "] run past the data buffer (" + std::to_string(buffer_size) + " bytes)");
  }
  return e;
}

Header read_header(const fs::path& file, int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(file, std::string("cannot stat: ") + std::strerror(errno));
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    fail(file, "file is " + std::to_string(file_size) + " bytes, shorter than the 8-byte header length");
  }
  uint64_t header_size = 0;
  read_exact(file, fd, &header_size, 8, 0);
  if (header_size > file_size - 8) {
    fail(file, "header length " + std::to_string(header_size) + " is larger than the file (" +
                   std::to_string(file_size) + " bytes)");
  }
  if (header_size > kMaxHeaderBytes) {
    fail(file, "header length " + std::to_string(header_size) + " exceeds the 100 MB limit");
  }
  std::string text(header_size, '\0');
  read_exact(file, fd, text.data(), header_size, 8);
  json h;
  try {
    h = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(file, std::string("header is invalid JSON: ") + e.what());
  }
  if (!h.is_object()) fail(file, "header is not a JSON object");

  Header header;
  header.data_start = 8 + header_size;
  const uint64_t buffer_size = file_size - header.data_start;
  for (const auto& [name, value] : h.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) fail(file, "__metadata__ is not an object of strings");
      for (const auto& [key, v] : value.items()) {
        if (!v.is_string()) fail(file, "__metadata__[\"" + key + "\"] is not a string: " + short_dump(v));
        header.metadata[key] = v.get<std::string>();
      }
      continue;
    }
    header.entries.push_back(parse_entry(file, name, value, buffer_size));
  }

  // The tensors must tile the buffer exactly: each begins where the previous one ends.
  std::sort(header.entries.begin(), header.entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : header.entries) {
    if (e.begin != expected) {
      fail(file, quoted(e.name) + ": data_offsets start at " + std::to_string(e.begin) + " but " +
                     (previous ? quoted(previous->name) + " ends" : std::string("the buffer starts")) +
                     " at " + std::to_string(expected) + (e.begin < expected ? " (overlap)" : " (gap)"));
    }
    expected = e.end;
    previous = &e;
  }
  if (expected != buffer_size) {
    fail(file, "tensors cover " + std::to_string(expected) + " bytes but the data buffer has " +
                   std::to_string(buffer_size) + " (trailing bytes)");
  }
  return header;
}

Header open_and_read_header(const fs::path& file, Fd& fd) {
  if (fd.get() < 0) fail(file, std::string("cannot open: ") + std::strerror(errno));
  return read_header(file, fd.get());
}

}  // namespace

TensorMap load_safetensors(const fs::path& file) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  const Header header = open_and_read_header(file, fd);
  TensorMap tensors;
  for (const Entry& e : header.entries) {
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->type));
    read_exact(file, fd.get(), t.data_ptr(), e.end - e.begin, header.data_start + e.begin);
    if (e.dtype->type == torch::kBool) {
      // A bool byte other than 0/1 is undefined behaviour in torch's kernels, so reject it here.
      const auto* bytes = static_cast<const uint8_t*>(t.data_ptr());
      if (std::any_of(bytes, bytes + t.numel(), [](uint8_t b) { return b > 1; })) {
        fail(file, quoted(e.name) + ": BOOL data holds a byte other than 0 or 1");
      }
    }
    tensors.emplace(e.name, std::move(t));
  }
  return tensors;
}

std::map<std::string, std::string> safetensors_metadata(const fs::path& file) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  return open_and_read_header(file, fd).metadata;
}

void save_safetensors(const fs::path& file, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") fail(file, "'__metadata__' is reserved and cannot name a tensor");
    if (!tensor.defined()) fail(file, quoted(name) + " is undefined");
    if (tensor.layout() != torch::kStrided) fail(file, quoted(name) + " is not a dense (strided) tensor");
    const auto dtype = std::find_if(std::begin(kDTypes), std::end(kDTypes),
                                    [&](const DType& d) { return d.type == tensor.scalar_type(); });
    if (dtype == std::end(kDTypes)) {
      fail(file, quoted(name) + ": unsupported dtype " + std::string(c10::toString(tensor.scalar_type())) +
                     " (supported: " + std::string(kSupported) + ")");
    }
    torch::Tensor cpu = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(cpu.numel()) * dtype->itemsize;
    header[name] = {
        {"dtype", dtype->name}, {"shape", cpu.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(std::move(cpu));
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::type_error& e) {
    fail(file, std::string("a tensor name or metadata string is not valid UTF-8: ") + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // the data buffer starts 8-byte aligned
  const uint64_t header_size = text.size();

  fs::path tmp = file;
  tmp += ".tmp." + std::to_string(::getpid());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) fail(file, "cannot create " + tmp.string() + ": " + std::strerror(errno));
  try {
    write_exact(file, fd.get(), &header_size, 8);
    write_exact(file, fd.get(), text.data(), text.size());
    for (const torch::Tensor& t : data) {
      write_exact(file, fd.get(), t.data_ptr(), static_cast<uint64_t>(t.numel()) * t.element_size());
    }
    if (::fsync(fd.get()) != 0) fail(file, std::string("fsync failed: ") + std::strerror(errno));
    if (::close(fd.release()) != 0) fail(file, std::string("close failed: ") + std::strerror(errno));
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
      fail(file, "cannot rename " + tmp.string() + " over it: " + std::strerror(errno));
    }
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  // Make the rename itself durable.
  const fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0) {
    fail(file, "written, but fsync of directory " + dir.string() + " failed: " + std::strerror(errno));
  }
}

}  // namespace aha::policy
