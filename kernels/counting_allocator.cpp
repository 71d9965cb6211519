// The counting CPU allocator; see counting_allocator.h.
#include "kernels/counting_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

namespace aha::kernels {

namespace {
constexpr uint8_t kPriority = 100;  // above the default registration, so the swap takes effect
}  // namespace

c10::DataPtr CountingCpuAllocator::allocate(size_t bytes) {
  void* data = c10::alloc_cpu(bytes);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    sizes_[data] = bytes;
  }
  const int64_t now = live_.fetch_add(static_cast<int64_t>(bytes)) + static_cast<int64_t>(bytes);
  int64_t peak = peak_.load();
  while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
  }
  return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
}

void CountingCpuAllocator::copy_data(void* dest, const void* src, std::size_t count) const {
  default_copy_data(dest, src, count);
}

void CountingCpuAllocator::release(void* data) {
  CountingCpuAllocator& self = CountingScope::counter();
  size_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(self.mutex_);
    const auto it = self.sizes_.find(data);
    if (it != self.sizes_.end()) {
      bytes = it->second;
      self.sizes_.erase(it);
    }
  }
  self.live_.fetch_sub(static_cast<int64_t>(bytes));
  c10::free_cpu(data);
}

CountingScope::CountingScope() : previous_(c10::GetCPUAllocator()) { c10::SetCPUAllocator(&counter(), kPriority); }

CountingScope::~CountingScope() { c10::SetCPUAllocator(previous_, kPriority); }

CountingCpuAllocator& CountingScope::counter() {
  static CountingCpuAllocator allocator;
  return allocator;
}

}  // namespace aha::kernels
