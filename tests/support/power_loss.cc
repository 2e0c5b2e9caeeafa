#include "tests/support/power_loss.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace duractor::testing {

namespace {

struct Entry {
  PowerLossRecord header;
  std::string bytes;
};

std::runtime_error failure(const std::string& what, const std::string& path) {
  return std::runtime_error("power loss: " + what + " " + path + ": " + std::strerror(errno));
}

void write_all(int fd, const std::string& bytes, std::uint64_t offset, const std::string& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n =
        ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw failure("cannot write", path);
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

PowerLossSummary simulate_power_loss(const std::string& file, const std::string& log) {
  PowerLossSummary summary;
  std::vector<Entry> entries;
  {
    std::ifstream in(log, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t at = 0;
    while (data.size() - at >= sizeof(PowerLossRecord)) {
      Entry e;
      std::memcpy(&e.header, data.data() + at, sizeof e.header);
      if (e.header.magic != PowerLossRecord::kMagic) {
        throw std::runtime_error("power loss: log " + log + " is damaged");
      }
      at += sizeof e.header;
      if (data.size() - at < e.header.length) break;  // cut short: its write never began
      e.bytes = data.substr(at, e.header.length);
      at += e.header.length;
      entries.push_back(std::move(e));
    }
  }
  int fd = ::open(file.c_str(), O_RDWR);
  if (fd < 0) {
    if (errno == ENOENT && entries.empty()) {
      ::unlink(log.c_str());
      return summary;
    }
    throw failure("cannot open", file);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw failure("cannot stat", file);
  summary.size_before = static_cast<std::uint64_t>(st.st_size);
  summary.size_after = summary.size_before;
  if (!entries.empty()) {
    // Undo every unsynced write, newest first; then cut the file to its size at the last
    // sync; then replay the durable writes, oldest first, over the result.
    for (auto e = entries.rbegin(); e != entries.rend(); ++e) {
      if (e->header.kind != PowerLossRecord::kUndo) continue;
      write_all(fd, e->bytes, e->header.offset, file);
      ++summary.dropped_writes;
    }
    if (::ftruncate(fd, static_cast<off_t>(entries.front().header.size_before)) != 0) {
      throw failure("cannot truncate", file);
    }
    for (const auto& e : entries) {
      if (e.header.kind != PowerLossRecord::kRedo) continue;
      write_all(fd, e.bytes, e.header.offset, file);
      ++summary.durable_writes;
    }
    if (::fstat(fd, &st) != 0) throw failure("cannot stat", file);
    summary.size_after = static_cast<std::uint64_t>(st.st_size);
  }
  ::close(fd);
  if (::unlink(log.c_str()) != 0 && errno != ENOENT) throw failure("cannot remove", log);
  return summary;
}

}  // namespace duractor::testing
