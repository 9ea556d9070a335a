#pragma once
// Splits a loop over a range of independent items between the cores.

#include <algorithm>
#include <cstddef>
#include <exception>
#include <system_error>
#include <thread>
#include <vector>

namespace rapport::engine {

/// Calls `work(begin, end)` on contiguous parts of [0, count) at the same time: one part per core,
/// each at least `min_part` items long, the calling thread taking the first. With one part, or
/// when no thread can be started, the parts run here one after the other. The first exception a
/// part throws is rethrown here once every part has ended. `work` must only write what its own
/// part owns.
template <typename Work>
void for_each_part(std::size_t count, std::size_t min_part, Work&& work) {
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t most = count / std::max<std::size_t>(min_part, 1);
  const std::size_t parts = std::clamp<std::size_t>(most, 1, cores);
  if (parts == 1) {
    work(std::size_t{0}, count);
    return;
  }
  std::vector<std::exception_ptr> errors(parts);
  auto run = [&](std::size_t part) {
    try {
      work(count * part / parts, count * (part + 1) / parts);
    } catch (...) {
      errors[part] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  std::size_t here = parts;  // the parts from here on run in this thread
  for (std::size_t part = 1; part < parts; ++part) {
    try {
      threads.emplace_back(run, part);
    } catch (const std::system_error&) {
      here = part;
      break;
    }
  }
  run(0);
  for (std::size_t part = here; part < parts; ++part) run(part);
  for (auto& thread : threads) thread.join();
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

}  // namespace rapport::engine
