// A CPU allocator that counts the bytes of tensor storages alive and their peak (c10::alloc_cpu memory,
// as the default CPU allocator hands out), installed for one scope. It sees what torch allocates for tensors, not the scratch that
// oneDNN or BLAS take and free inside one call. Used to measure what a forward keeps for its backward
// (tests, and the activation probe behind `aha info --plan`).
#pragma once

#include <c10/core/Allocator.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace aha::kernels {

class CountingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t bytes) override;
  void copy_data(void* dest, const void* src, std::size_t count) const override;
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
  int64_t live() const { return live_.load(); }
  int64_t peak() const { return peak_.load(); }
  void reset_peak() { peak_.store(live_.load()); }

 private:
  static void release(void* data);
  std::atomic<int64_t> live_{0}, peak_{0};
  std::mutex mutex_;
  std::unordered_map<void*, size_t> sizes_;  // the data pointer is the context (raw_allocate needs that)
};

// Installs the process's counting allocator (it lives for the whole process: storages it made may outlive
// the scope) and puts the previous CPU allocator back on exit. Not for concurrent scopes.
class CountingScope {
 public:
  CountingScope();
  ~CountingScope();
  CountingScope(const CountingScope&) = delete;
  CountingScope& operator=(const CountingScope&) = delete;
  static CountingCpuAllocator& counter();

 private:
  c10::Allocator* previous_;
};

}  // namespace aha::kernels
