#include "engine/findings.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <unordered_set>

namespace rapport::engine {

namespace {

/// The process's rule metadata texts (SharedString, SharedStrings): never freed, so that copies
/// may point at them from anywhere, static destruction included.
struct Interned {
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>()(text); }
  };
  std::mutex mutex;
  std::unordered_set<std::string, Hash, std::equal_to<>> texts;
  std::set<std::vector<std::string>> lists;
};

Interned& interned() {
  static auto* const kept = new Interned();  // reachable, never freed
  return *kept;
}

}  // namespace

const std::string* SharedString::intern(std::string_view text) {
  Interned& all = interned();
  std::lock_guard lock(all.mutex);
  auto it = all.texts.find(text);
  if (it == all.texts.end()) it = all.texts.emplace(text).first;
  return &*it;
}

const std::vector<std::string>* SharedStrings::intern(const std::vector<std::string>& items) {
  Interned& all = interned();
  std::lock_guard lock(all.mutex);
  return &*all.lists.insert(items).first;
}

namespace {

/// Freed parts' pages are handed back after this many bytes (see sorted_moved()).
constexpr std::size_t kTrimBytes = std::size_t{32} << 20;

/// The findings of `parts`, in the order of their concatenation, sorted (stable) and moved once
/// into one vector.
std::vector<Finding> sorted_moved(std::vector<std::vector<Finding>*> parts) {
  std::vector<Finding*> all;
  std::size_t total = 0;
  for (auto* part : parts) total += part->size();
  all.reserve(total);
  for (auto* part : parts) {
    for (auto& f : *part) all.push_back(&f);
  }
  const std::size_t n = all.size();
  // Severity, pack and rule as one integer per finding: first the runs of one pack/rule (a batch
  // is one rule's), then the pairs' ranks, so no string is compared per finding.
  std::map<std::pair<std::string_view, std::string_view>, std::uint32_t> ranks;
  std::vector<std::pair<std::size_t, std::uint32_t*>> runs;  // a run's first position, its pair's rank
  for (std::size_t i = 0; i < n; ++i) {
    const Finding& f = *all[i];
    if (i == 0 || all[i - 1]->rule != f.rule || all[i - 1]->pack != f.pack) {
      auto pair = ranks.emplace(std::make_pair(std::string_view(f.pack), std::string_view(f.rule)), 0).first;
      runs.emplace_back(i, &pair->second);
    }
  }
  std::uint32_t next = 0;
  for (auto& [pair, rank] : ranks) rank = next++;
  // The order of positions, then the findings moved: a Finding is a dozen strings and vectors, and
  // moving them through a million-element stable sort costs seconds. Severity, pack and rule make
  // one small integer (the groups: 5 severities times the pack/rule pairs), so positions are first
  // put in group order by a stable counting sort. Within a group, by subject id: a rule finds its
  // subjects in row order, which is nearly always id order, so a group is sorted only when it
  // isn't already (a million findings: a linear pass instead of 20 million string comparisons).
  const std::size_t pairs = ranks.size();
  std::vector<std::uint32_t> group(n);
  std::vector<std::size_t> group_start(5 * pairs + 1, 0);
  for (std::size_t run = 0; run < runs.size(); ++run) {
    const std::size_t end = run + 1 < runs.size() ? runs[run + 1].first : n;
    const std::size_t rank = *runs[run].second;
    for (std::size_t i = runs[run].first; i < end; ++i) {
      const auto severity = static_cast<std::size_t>(4 - static_cast<int>(all[i]->severity));
      const auto g = static_cast<std::uint32_t>(severity * pairs + rank);
      group[i] = g;
      ++group_start[g + 1];
    }
  }
  std::partial_sum(group_start.begin(), group_start.end(), group_start.begin());
  std::vector<std::uint32_t> order(n);
  {
    std::vector<std::size_t> next(group_start.begin(), group_start.end() - 1);
    for (std::size_t i = 0; i < n; ++i) order[next[group[i]]++] = static_cast<std::uint32_t>(i);
  }
  std::vector<std::uint32_t>().swap(group);
  auto by_subject = [&](std::uint32_t x, std::uint32_t y) { return all[x]->subject_id < all[y]->subject_id; };
  for (std::size_t g = 0; g + 1 < group_start.size(); ++g) {
    const auto first = order.begin() + static_cast<std::ptrdiff_t>(group_start[g]);
    const auto last = order.begin() + static_cast<std::ptrdiff_t>(group_start[g + 1]);
    if (std::is_sorted(first, last, by_subject)) continue;
    std::stable_sort(first, last, by_subject);
  }
  // The findings are moved into place in that order, each part freed as soon as its last finding
  // is moved (so the findings are held about once, not twice: a million findings are a few
  // hundred megabytes of structs). The order runs through each part in long stretches, so the
  // moves read the parts nearly in sequence; permuting a concatenation in place instead, by the
  // permutation's cycles, took a cache miss per finding.
  std::vector<std::size_t> part_end(parts.size());
  std::vector<std::size_t> left(parts.size());
  for (std::size_t k = 0, at = 0; k < parts.size(); ++k) {
    at += parts[k]->size();
    part_end[k] = at;
    left[k] = parts[k]->size();
  }
  std::vector<Finding> out;
  out.reserve(n);
  std::size_t freed = 0;  // bytes of parts freed since their pages were last handed back
  std::size_t k = 0;      // the part of the position moved last
  for (const std::uint32_t at : order) {
    if (at >= part_end[k] || (k > 0 && at < part_end[k - 1])) {
      k = static_cast<std::size_t>(std::upper_bound(part_end.begin(), part_end.end(), at) - part_end.begin());
    }
    out.push_back(std::move(*all[at]));
    if (--left[k] > 0) continue;
    freed += parts[k]->capacity() * sizeof(Finding);
    std::vector<Finding>().swap(*parts[k]);
#ifdef __GLIBC__
    // A part smaller than glibc's (adaptive) mmap threshold was carved out of a heap arena, and
    // freeing it keeps its pages: hand them back every so often, or the findings are held twice
    // by the end (a few hundred megabytes at a million accounts).
    if (freed >= kTrimBytes) {
      malloc_trim(0);
      freed = 0;
    }
#endif
  }
  return out;
}

}  // namespace

void sort_findings(std::vector<Finding>& findings) {
  const std::size_t n = findings.size();
  bool sorted = true;
  for (std::size_t i = 1; i < n && sorted; ++i) {
    const Finding& a = findings[i - 1];
    const Finding& b = findings[i];
    // Already in order (severity, then pack/rule as one run, then subject): nothing to move.
    sorted = a.severity > b.severity ||
             (a.severity == b.severity && a.pack == b.pack && a.rule == b.rule && !(b.subject_id < a.subject_id));
  }
  if (sorted) return;
  findings = sorted_moved({&findings});
}

std::vector<Finding> sort_findings(std::vector<std::vector<Finding>>& parts) {
  std::vector<std::vector<Finding>*> pointers;
  pointers.reserve(parts.size());
  for (auto& part : parts) pointers.push_back(&part);
  return sorted_moved(std::move(pointers));
}

namespace {

/// stored_text()'s renderer: the characters follow the object in its allocation.
class StoredText final : public LaneRenderer {
 public:
  static LaneSource make(std::string_view text) {
    void* memory = ::operator new(sizeof(StoredText) + text.size());
    char* chars = static_cast<char*>(memory) + sizeof(StoredText);
    if (!text.empty()) std::memcpy(chars, text.data(), text.size());
    return LaneSource(new (memory) StoredText(std::string_view(chars, text.size())));
  }
  void append(std::string& out, std::uint32_t /*lane*/) const override { out += view_; }
  [[nodiscard]] const std::string_view* stored() const override { return &view_; }
  // Allocated by make(), with its characters: released whole.
  static void operator delete(void* memory) { ::operator delete(memory); }

 private:
  explicit StoredText(std::string_view view) : view_(view) {}
  std::string_view view_;
};

}  // namespace

LaneSource stored_text(std::string_view text) {
  static const LaneSource empty = StoredText::make({});  // shared by every empty text
  return text.empty() ? empty : StoredText::make(text);
}

namespace {

constexpr std::uint64_t kFnvPrime = 1099511628211ull;

/// FNV-1a over `part`, then the separator '|'.
std::uint64_t fnv_mix(std::uint64_t hash, std::string_view part) {
  for (unsigned char c : part) {
    hash ^= c;
    hash *= kFnvPrime;
  }
  hash ^= '|';
  return hash * kFnvPrime;
}

}  // namespace

std::uint64_t fingerprint_seed(std::string_view pack, std::string_view rule, std::string_view entity) {
  return fnv_mix(fnv_mix(fnv_mix(1469598103934665603ull, pack), rule), entity);
}

void append_fingerprint(std::string& out, std::uint64_t seed, std::string_view id) {
  std::uint64_t hash = fnv_mix(seed, id);
  char digits[16];  // zero-padded lowercase hex, written directly (a report computes a million)
  for (int i = 15; i >= 0; --i) {
    digits[i] = "0123456789abcdef"[hash & 0xF];
    hash >>= 4;
  }
  out.append(digits, sizeof digits);
}

std::string fingerprint(std::string_view pack, std::string_view rule, std::string_view entity, std::string_view id) {
  std::string out;
  append_fingerprint(out, fingerprint_seed(pack, rule, entity), id);
  return out;
}

}  // namespace rapport::engine
