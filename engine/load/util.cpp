// Loader plumbing: file mapping, chunking, local string interning, value conversion.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include "engine/load/internal.hpp"
#include "model/front_coded.hpp"
#include "model/time.hpp"

namespace rapport::load::detail {

// ---------------------------------------------------------------------------------------------
// MappedFile

MappedFile::~MappedFile() { close(); }

void MappedFile::close() {
  if (mapped_ && data_) ::munmap(const_cast<char*>(data_), size_);
  owned_.reset();
  data_ = nullptr;
  size_ = 0;
  mapped_ = false;
}

bool MappedFile::open(const std::string& path, std::string& error) {
  close();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = std::strerror(errno);
    ::close(fd);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    error = "is a directory";
    ::close(fd);
    return false;
  }
  if (S_ISREG(st.st_mode)) {
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ == 0) {
      ::close(fd);
      static const char kEmpty[1] = {0};
      data_ = kEmpty;
      return true;
    }
    void* addr = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr != MAP_FAILED) {
      ::madvise(addr, size_, MADV_SEQUENTIAL);
      data_ = static_cast<const char*>(addr);
      mapped_ = true;
      ::close(fd);
      return true;
    }
  }
  // Not mappable (a pipe, /proc file, ...): read it all.
  std::string buffer;
  char block[1 << 16];
  for (;;) {
    ssize_t got = ::read(fd, block, sizeof block);
    if (got < 0) {
      if (errno == EINTR) continue;
      error = std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (got == 0) break;
    buffer.append(block, static_cast<std::size_t>(got));
  }
  ::close(fd);
  size_ = buffer.size();
  owned_ = std::make_unique_for_overwrite<char[]>(size_ + 1);
  if (size_) std::memcpy(owned_.get(), buffer.data(), size_);
  owned_[size_] = 0;
  data_ = owned_.get();
  return true;
}

void MappedFile::release(std::size_t begin, std::size_t end) const {
  if (!mapped_ || end <= begin) return;
  static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::size_t first = (begin + page - 1) / page * page;
  std::size_t last = end / page * page;
  if (last > first) ::madvise(const_cast<char*>(data_) + first, last - first, MADV_DONTNEED);
}

std::vector<std::size_t> split_at_newlines(const char* data, std::size_t begin, std::size_t size,
                                           std::size_t chunk_size) {
  std::vector<std::size_t> bounds{begin};
  std::size_t at = begin;
  while (size - at > chunk_size + chunk_size / 4) {
    std::size_t nominal = at + chunk_size;
    const void* nl = std::memchr(data + nominal, '\n', size - nominal);
    if (!nl) break;
    std::size_t next = static_cast<std::size_t>(static_cast<const char*>(nl) - data) + 1;
    if (next >= size) break;
    bounds.push_back(next);
    at = next;
  }
  if (bounds.back() != size || bounds.size() == 1) bounds.push_back(size);
  return bounds;
}

// ---------------------------------------------------------------------------------------------
// Arena, hashing, LocalPool

void Arena::clear() {
  blocks_.clear();
  used_ = capacity_ = 0;
}

char* Arena::allocate(std::size_t size) {
  if (capacity_ - used_ < size || blocks_.empty()) {
    std::size_t capacity = std::max<std::size_t>(size, 64 * 1024);
    blocks_.push_back(std::make_unique_for_overwrite<char[]>(capacity));
    capacity_ = capacity;
    used_ = 0;
  }
  char* at = blocks_.back().get() + used_;
  used_ += size;
  return at;
}

std::string_view Arena::copy(std::string_view text) {
  if (text.empty()) return {};
  char* at = allocate(text.size());
  std::memcpy(at, text.data(), text.size());
  return {at, text.size()};
}

namespace {

constexpr std::size_t kLocalPoolMinSlots = 1024;

/// Slots for `strings` strings at a load factor of at most one half.
std::size_t local_pool_slots(std::size_t strings) {
  std::size_t slots = kLocalPoolMinSlots;
  while (slots < 2 * strings) slots *= 2;
  return slots;
}

}  // namespace

void LocalPool::clear() {
  if (entries_.empty()) return;
  const std::size_t needed = local_pool_slots(entries_.size());
  entries_.clear();
  hashes_.clear();
  text_.clear();
  if (slots_.size() > 4 * needed) {
    rehash(needed);  // no strings: an empty table of the size the last chunk needed
  } else {
    std::fill(slots_.begin(), slots_.end(), Slot{});
  }
}

LocalPool::LocalPool() { rehash(kLocalPoolMinSlots); }

void LocalPool::rehash(std::size_t capacity) {
  std::vector<Slot> slots(capacity, Slot{});
  std::size_t mask = capacity - 1;
  for (std::uint32_t id = 0; id < entries_.size(); ++id) {
    std::uint64_t h = hashes_[id];
    std::size_t at = h & mask;
    while (slots[at].id1) at = (at + 1) & mask;
    slots[at] = Slot{id + 1, static_cast<std::uint32_t>(h >> 32)};
  }
  slots_.swap(slots);
  mask_ = mask;
}

std::uint32_t LocalPool::intern(std::string_view text, std::uint64_t h) {
  auto tag = static_cast<std::uint32_t>(h >> 32);
  std::size_t at = h & mask_;
  for (;;) {
    const Slot slot = slots_[at];
    if (!slot.id1) break;
    if (slot.tag == tag) {
      const Entry& entry = entries_[slot.id1 - 1];
      if (entry.size == text.size() && same_bytes(text_.data() + entry.offset, text.data(), text.size())) {
        return slot.id1 - 1;
      }
    }
    at = (at + 1) & mask_;
  }
  auto id = static_cast<std::uint32_t>(entries_.size());
  entries_.push_back(Entry{text_.size(), text.size()});
  text_.insert(text_.end(), text.begin(), text.end());
  hashes_.push_back(h);
  slots_[at] = Slot{id + 1, tag};
  if (entries_.size() * 2 > slots_.size()) rehash(slots_.size() * 2);
  return id;
}

// ---------------------------------------------------------------------------------------------
// UTF-8 and display

bool valid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      std::uint64_t word;
      std::memcpy(&word, s + i, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string display_text(std::string_view text) {
  constexpr std::size_t kMax = 60;
  std::string out;
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t i = 0;
  while (i < text.size()) {
    if (out.size() >= kMax) {
      out += "...";
      break;
    }
    unsigned char c = s[i];
    std::size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (len > 1 && i + len <= text.size() && valid_utf8(text.substr(i, len))) {
      out.append(text.substr(i, len));
      i += len;
      continue;
    }
    if (c < 0x20 || c == 0x7F || len != 1) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ChunkOut

void truncate_column(model::Column& column, std::size_t rows) {
  using model::FieldType;
  switch (column.def.type) {
    case FieldType::Number:
    case FieldType::Bool:
    case FieldType::Timestamp:
    case FieldType::Date:
      if (column.numbers.size() > rows) column.numbers.resize(rows);
      break;
    case FieldType::Text:
    case FieldType::Enum:
    case FieldType::Ref:
      if (column.strings.size() > rows) column.strings.resize(rows);
      if (column.rows.size() > rows) column.rows.resize(rows);
      break;
    case FieldType::TextList:
      if (column.list_present.size() > rows) {
        column.list_present.resize(rows);
        column.list_offsets.resize(rows + 1);
        column.list_items.resize(column.list_offsets.back());
      }
      break;
  }
}

void ChunkOut::init(const FilePlan& plan) {
  start = end_pos = 0;
  newlines = 0;
  pool.clear();
  arena.clear();
  padded_copies.clear();
  id_texts.clear();
  ids.clear();
  lines.clear();
  issues.clear();
  fatal.clear();
  pending.clear();
  bad_records = bad_overflow = enum_warnings = enum_overflow = 0;
  columns.resize(plan.fields.size());
  enum_ids.resize(plan.fields.size());
  last_string.assign(plan.fields.size(), LastString{});
  for (std::size_t i = 0; i < plan.fields.size(); ++i) {
    const model::FieldDef& def = plan.fields[i];
    columns[i].reset(def);
    enum_ids[i].assign(def.type == model::FieldType::Enum ? def.enum_values.size() : 0, model::kMissingStr);
  }
}

void ChunkOut::truncate(std::size_t row) {
  intern_pending();  // a rejected record's strings stay in the pool, in order
  if (ids.size() > row) ids.resize(row);
  if (lines.size() > row) lines.resize(row);
  for (auto& column : columns) truncate_column(column, row);
}

void ChunkOut::add_issue(std::uint32_t line, IssueKind kind, diag::Code code, std::string message, std::string help) {
  std::size_t& count = kind == IssueKind::BadRecord ? bad_records : enum_warnings;
  std::size_t& overflow = kind == IssueKind::BadRecord ? bad_overflow : enum_overflow;
  ++count;
  if (count > kIssuesKeptPerChunk) {
    ++overflow;
    return;
  }
  issues.push_back(Issue{line, kind, code, std::move(message), std::move(help)});
}

// ---------------------------------------------------------------------------------------------
// Conversions

std::string_view expected_phrase(model::FieldType type) {
  using model::FieldType;
  switch (type) {
    case FieldType::Number: return "a number";
    case FieldType::Bool: return "true or false";
    case FieldType::Timestamp: return "a timestamp";
    case FieldType::Date: return "a date";
    case FieldType::TextList: return "a list of strings";
    case FieldType::Text:
    case FieldType::Enum:
    case FieldType::Ref: return "a string";
  }
  return "a string";
}

std::string_view type_help(model::FieldType type) {
  switch (type) {
    case model::FieldType::Timestamp: return "timestamps are ISO 8601 in UTC, like 2026-03-01T09:30:00Z";
    case model::FieldType::Date: return "dates look like 2026-03-01";
    default: return "";
  }
}

std::string type_error_message(const std::string& entity, const model::FieldDef& field, std::string_view got) {
  std::string message = entity;
  message += '.';
  message += field.name;
  message += ": expected ";
  message += expected_phrase(field.type);
  message += ", got ";
  message += got;
  return message;
}

std::string_view trim(std::string_view text) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

bool parse_number(std::string_view text, double& value) {
  std::size_t i = 0, n = text.size();
  if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
  std::size_t int_digits = 0, frac_digits = 0;
  while (i < n && text[i] >= '0' && text[i] <= '9') ++i, ++int_digits;
  if (i < n && text[i] == '.') {
    ++i;
    while (i < n && text[i] >= '0' && text[i] <= '9') ++i, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return false;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < n && text[i] >= '0' && text[i] <= '9') ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  if (i != n) return false;
  std::string_view digits = text;
  if (digits.front() == '+') digits.remove_prefix(1);
  double parsed = 0;
  auto result = std::from_chars(digits.data(), digits.data() + digits.size(), parsed);
  if (result.ec != std::errc() || result.ptr != digits.data() + digits.size() || !std::isfinite(parsed)) return false;
  value = parsed;
  return true;
}

bool parse_bool_text(std::string_view text, double& value) {
  auto equals = [](std::string_view a, std::string_view lower) {
    if (a.size() != lower.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      char c = a[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != lower[i]) return false;
    }
    return true;
  };
  if (text == "1" || equals(text, "true")) {
    value = 1;
    return true;
  }
  if (text == "0" || equals(text, "false")) {
    value = 0;
    return true;
  }
  return false;
}

bool ids_ascend(std::string_view before, std::string_view after) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  // Consecutive ids share most of their bytes (`act-00000001-`): the order is decided in the run
  // where they first differ, so the comparison starts there, at the start of its digit run (a
  // run of other bytes compares byte by byte, so starting inside one is the same).
  const std::size_t common = std::min(before.size(), after.size());
  std::size_t i = model::shared_prefix(before, after);
  if (i < common && digit(before[i]) && digit(after[i])) {
    // Digit runs of one length (act-00000001-2 then -3) compare as numbers as they do as bytes.
    std::size_t a_end = i + 1, b_end = i + 1;
    while (a_end < before.size() && digit(before[a_end])) ++a_end;
    while (b_end < after.size() && digit(after[b_end])) ++b_end;
    if (a_end == b_end) return before[i] < after[i];
  }
  while (i > 0 && digit(before[i - 1])) --i;
  std::size_t j = i;
  const std::size_t m = before.size(), n = after.size();
  // Both at the start of a run.
  while (i < m && j < n) {
    const bool a_digits = digit(before[i]), b_digits = digit(after[j]);
    if (a_digits != b_digits) return a_digits;  // a digit run comes first
    if (!a_digits) {
      // Byte by byte to the end of the shorter run; the run that ends first is the smaller.
      for (;;) {
        const bool a_end = i == m || digit(before[i]), b_end = j == n || digit(after[j]);
        if (a_end || b_end) {
          if (a_end != b_end) return a_end;
          break;
        }
        if (before[i] != after[j]) return static_cast<unsigned char>(before[i]) < static_cast<unsigned char>(after[j]);
        ++i;
        ++j;
      }
      continue;
    }
    std::size_t a_zeros = 0, b_zeros = 0;
    while (i < m && before[i] == '0') ++i, ++a_zeros;
    while (j < n && after[j] == '0') ++j, ++b_zeros;
    std::size_t a_end = i, b_end = j;
    while (a_end < m && digit(before[a_end])) ++a_end;
    while (b_end < n && digit(after[b_end])) ++b_end;
    if (a_end - i != b_end - j) return a_end - i < b_end - j;  // fewer significant digits: smaller
    for (; i < a_end; ++i, ++j) {
      if (before[i] != after[j]) return before[i] < after[j];
    }
    if (a_zeros != b_zeros) return a_zeros < b_zeros;
  }
  return i == m && j < n;  // a prefix of runs comes first
}

bool parse_timestamp_value(std::string_view text, double& value) {
  auto parsed = model::parse_date_or_timestamp(text);
  if (!parsed) return false;
  value = *parsed;
  return true;
}

bool parse_date_value(std::string_view text, double& value) {
  if (auto date = model::parse_date(text)) {
    value = *date;
    return true;
  }
  auto stamp = model::parse_timestamp(text);
  if (!stamp || std::fmod(*stamp, model::kSecondsPerDay) != 0) return false;
  value = *stamp;
  return true;
}

std::uint32_t intern_string(ChunkOut& out, std::size_t slot, const model::FieldDef& def, std::string_view text,
                            bool& bad) {
  const std::vector<std::string>& values = def.enum_values;
  std::vector<std::uint32_t>& enum_ids = out.enum_ids[slot];
  std::size_t rank = 0;  // FieldDef::enum_rank(), without a call to memcmp per value
  for (; rank < enum_ids.size(); ++rank) {
    const std::string& value = values[rank];
    if (value.size() == text.size() && same_bytes(value.data(), text.data(), text.size())) break;
  }
  bad = false;
  if (rank < enum_ids.size()) {
    std::uint32_t& known = enum_ids[rank];
    if (known == model::kMissingStr) {
      known = kPendingStr;  // the same value in another column of this record is another slot
      out.defer_intern(text, out.columns[slot].strings, &out.last_string[slot], &known);
    }
    return known;
  }
  bad = !enum_ids.empty();
  out.defer_intern(text, out.columns[slot].strings, &out.last_string[slot], nullptr);
  return kPendingStr;
}

void warn_enum_value(ChunkOut& out, const model::FieldDef& def, const std::string& entity, std::string_view text,
                     std::uint32_t line) {
  std::string values;
  for (std::size_t i = 0; i < def.enum_values.size(); ++i) {
    if (i) values += ", ";
    values += def.enum_values[i];
  }
  out.add_issue(line, IssueKind::EnumValue, diag::Code::BadEnumValueInData,
                entity + "." + def.name + ": \"" + display_text(text) + "\" is not one of " + values);
}

}  // namespace rapport::load::detail
