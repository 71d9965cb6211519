// safetensors I/O (format in safetensors.h). The reader validates the header (safetensors_header.cpp: the
// checks the reference Rust crate makes) before it allocates anything, then reads each tensor with pread
// straight into its own CPU storage, or (TensorStorage::kMapped) maps the file once and makes every
// tensor a view into the mapping. The writer lays tensors out in name order and replaces the target
// atomically (tmp + fsync + rename + fsync of the dir).
#include "policy/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "policy/safetensors_header.h"

namespace aha::policy {
namespace {

namespace fs = std::filesystem;

// safetensors dtypes <-> torch scalar types.
using D = SafetensorsDType;
constexpr std::pair<SafetensorsDType, torch::ScalarType> kTorchTypes[] = {{D::F64, torch::kFloat64},
                                                                          {D::F32, torch::kFloat32},
                                                                          {D::F16, torch::kFloat16},
                                                                          {D::BF16, torch::kBFloat16},
                                                                          {D::I64, torch::kInt64},
                                                                          {D::I32, torch::kInt32},
                                                                          {D::I16, torch::kInt16},
                                                                          {D::I8, torch::kInt8},
                                                                          {D::U8, torch::kUInt8},
                                                                          {D::BOOL, torch::kBool},
                                                                          {D::F8_E4M3, torch::kFloat8_e4m3fn},
                                                                          {D::F8_E5M2, torch::kFloat8_e5m2}};

torch::ScalarType scalar_type(SafetensorsDType dtype) {
  for (const auto& [d, type] : kTorchTypes) {
    if (d == dtype) return type;
  }
  throw std::logic_error("safetensors dtype without a torch type");
}

std::optional<SafetensorsDTypeInfo> safetensors_dtype(torch::ScalarType type) {
  for (const SafetensorsDTypeInfo& d : safetensors_dtypes()) {
    if (scalar_type(d.dtype) == type) return d;
  }
  return std::nullopt;
}

[[noreturn]] void fail(const fs::path& file, const std::string& message) {
  throw std::runtime_error(file.string() + ": " + message);
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

// A private, copy-on-write mapping of a whole file, populated up front so that loading pays for the page
// tables here rather than one fault per page later. It is mapped read-only and made writable after: the
// kernel populates a writable private mapping by write faults, which would copy every page.
struct Mapping {
  char* data = nullptr;
  size_t size = 0;

  static std::shared_ptr<Mapping> map(const fs::path& file, int fd, uint64_t size) {
    auto m = std::make_shared<Mapping>();
    if (size == 0) return m;
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED) fail(file, std::string("cannot mmap: ") + std::strerror(errno));
    m->data = static_cast<char*>(p);
    m->size = size;
    if (::mprotect(p, size, PROT_READ | PROT_WRITE) != 0)
      fail(file, std::string("cannot make the mapping copy-on-write: ") + std::strerror(errno));
    return m;
  }
  ~Mapping() {
    if (data != nullptr) ::munmap(data, size);
  }
};

SafetensorsHeader open_and_read_header(const fs::path& file, Fd& fd) {
  if (fd.get() < 0) fail(file, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail(file, std::string("cannot stat: ") + std::strerror(errno));
  return read_safetensors_header(
      file, static_cast<uint64_t>(st.st_size),
      [&](void* dst, uint64_t bytes, uint64_t offset) { read_exact(file, fd.get(), dst, bytes, offset); });
}

}  // namespace

TensorMap load_safetensors(const fs::path& file, TensorStorage storage) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  const SafetensorsHeader header = open_and_read_header(file, fd);
  // The header checked that the tensors tile the rest of the file, so this is the file's size.
  const uint64_t file_size = header.data_start + (header.entries.empty() ? 0 : header.entries.back().end);
  std::shared_ptr<Mapping> mapping;
  if (storage == TensorStorage::kMapped) mapping = Mapping::map(file, fd.get(), file_size);

  TensorMap tensors;
  for (const SafetensorsEntry& e : header.entries) {
    const auto options = torch::TensorOptions().dtype(scalar_type(e.dtype.dtype));
    const uint64_t offset = header.data_start + e.begin, bytes = e.end - e.begin;
    torch::Tensor t;
    if (mapping && offset % e.dtype.itemsize == 0) {
      // The deleter holds the mapping: it is unmapped when the last tensor in it is freed.
      t = torch::from_blob(
          mapping->data + offset, e.shape, [mapping](void*) {}, options);
    } else {  // owned storage, or a tensor the file does not align to its element size
      t = torch::empty(e.shape, options);
      if (mapping)
        std::memcpy(t.data_ptr(), mapping->data + offset, bytes);
      else
        read_exact(file, fd.get(), t.data_ptr(), bytes, offset);
    }
    if (e.dtype.dtype == SafetensorsDType::BOOL) {
      // A bool byte other than 0/1 is undefined behaviour in torch's kernels, so reject it here.
      const auto* data = static_cast<const uint8_t*>(t.data_ptr());
      if (std::any_of(data, data + t.numel(), [](uint8_t b) { return b > 1; })) {
        fail(file, quoted(e.name) + ": BOOL data holds a byte other than 0 or 1");
      }
    }
    tensors.emplace(e.name, std::move(t));
  }
  return tensors;
}

SafetensorsHeader read_safetensors_file_header(const fs::path& file) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  return open_and_read_header(file, fd);
}

std::map<std::string, std::string> safetensors_metadata(const fs::path& file) {
  return read_safetensors_file_header(file).metadata;
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
    const std::optional<SafetensorsDTypeInfo> dtype = safetensors_dtype(tensor.scalar_type());
    if (!dtype) {
      fail(file, quoted(name) + ": unsupported dtype " + std::string(c10::toString(tensor.scalar_type())) +
                     " (supported: " + std::string(kSupportedSafetensorsDTypes) + ")");
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
