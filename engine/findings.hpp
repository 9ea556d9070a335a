#pragma once
// Findings: what a rule reports about one subject, and the run's per-rule counts.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/smart_ptr/intrusive_ptr.hpp>
#include <boost/smart_ptr/intrusive_ref_counter.hpp>

#include "dsl/program.hpp"

namespace rapport::engine {

/// An immutable string kept once per process: the pack, rule, title and subject entity that
/// every finding of a rule repeats (a million findings would otherwise hold a million copies of
/// each). A copy is a pointer, without a reference count to update. Each distinct text is kept
/// until the process ends: these are rule metadata, a few hundred texts however often packs are
/// loaded. Reads like a `const std::string`.
class SharedString {
 public:
  SharedString() = default;
  SharedString(std::string_view text) : text_(intern(text)) {}  // NOLINT: implicit
  SharedString(const std::string& text) : text_(intern(text)) {}  // NOLINT: implicit
  SharedString(const char* text) : text_(intern(text)) {}         // NOLINT: implicit

  [[nodiscard]] const std::string& str() const { return text_ ? *text_ : empty_string(); }
  operator const std::string&() const { return str(); }  // NOLINT: implicit, reads as a string
  operator std::string_view() const { return str(); }    // NOLINT
  [[nodiscard]] const char* c_str() const { return str().c_str(); }
  [[nodiscard]] const char* data() const { return str().data(); }
  [[nodiscard]] std::size_t size() const { return str().size(); }
  [[nodiscard]] bool empty() const { return str().empty(); }
  [[nodiscard]] auto begin() const { return str().begin(); }
  [[nodiscard]] auto end() const { return str().end(); }

  friend bool operator==(const SharedString& a, std::string_view b) { return a.str() == b; }
  friend auto operator<=>(const SharedString& a, std::string_view b) { return std::string_view(a.str()) <=> b; }
  friend bool operator==(const SharedString& a, const std::string& b) { return a.str() == b; }
  friend auto operator<=>(const SharedString& a, const std::string& b) { return a.str() <=> b; }
  friend bool operator==(const SharedString& a, const char* b) { return a.str() == b; }
  friend auto operator<=>(const SharedString& a, const char* b) { return a.str() <=> b; }
  friend bool operator==(const SharedString& a, const SharedString& b) { return a.str() == b.str(); }
  friend auto operator<=>(const SharedString& a, const SharedString& b) { return a.str() <=> b.str(); }
  friend std::string operator+(const std::string& a, const SharedString& b) { return a + b.str(); }
  friend std::string operator+(std::string&& a, const SharedString& b) { return std::move(a) + b.str(); }
  friend std::string operator+(const SharedString& a, const std::string& b) { return a.str() + b; }
  friend std::string operator+(const char* a, const SharedString& b) { return a + b.str(); }
  friend std::string operator+(const SharedString& a, const char* b) { return a.str() + b; }
  friend std::string operator+(const SharedString& a, char b) { return a.str() + b; }
  friend std::ostream& operator<<(std::ostream& out, const SharedString& text) { return out << text.str(); }

 private:
  static const std::string& empty_string() {
    static const std::string empty;
    return empty;
  }
  /// The process's copy of `text` (thread-safe).
  static const std::string* intern(std::string_view text);
  const std::string* text_ = nullptr;
};

/// An immutable list of strings kept once per process, like SharedString (a rule's tags and its
/// lets' names, repeated by each of its findings). Reads like a `const std::vector<std::string>`.
class SharedStrings {
 public:
  SharedStrings() = default;
  SharedStrings(const std::vector<std::string>& items) : items_(intern(items)) {}  // NOLINT: implicit
  SharedStrings(std::initializer_list<std::string> items) : SharedStrings(std::vector<std::string>(items)) {}

  [[nodiscard]] const std::vector<std::string>& list() const { return items_ ? *items_ : empty_list(); }
  operator const std::vector<std::string>&() const { return list(); }  // NOLINT: implicit
  [[nodiscard]] std::size_t size() const { return list().size(); }
  [[nodiscard]] bool empty() const { return list().empty(); }
  [[nodiscard]] const std::string& operator[](std::size_t i) const { return list()[i]; }
  [[nodiscard]] auto begin() const { return list().begin(); }
  [[nodiscard]] auto end() const { return list().end(); }

 private:
  static const std::vector<std::string>& empty_list() {
    static const std::vector<std::string> empty;
    return empty;
  }
  /// The process's copy of `items` (thread-safe).
  static const std::vector<std::string>* intern(const std::vector<std::string>& items);
  const std::vector<std::string>* items_ = nullptr;
};

/// One `let` value recorded with a finding: the let's name and its value as JSON (numbers,
/// strings, arrays truncated to 10 items). Views into the finding's EvidenceList.
struct Evidence {
  std::string_view name;
  std::string_view json;
};

/// What renders a deferred part of a finding (its message, remedy or evidence) from the values a
/// rule kept for its findings, `lane` being the finding's place among them. Counted by the
/// LaneSource handles that share it (boost::intrusive_ptr: 8 bytes a handle, where a
/// std::shared_ptr takes 16; a million findings hold three each).
class LaneRenderer : public boost::intrusive_ref_counter<LaneRenderer, boost::thread_safe_counter> {
 public:
  virtual ~LaneRenderer() = default;
  virtual void append(std::string& out, std::uint32_t lane) const = 0;
  /// The text itself when it is stored, not rendered (the same for every lane), else nullptr.
  [[nodiscard]] virtual const std::string_view* stored() const { return nullptr; }
  /// Whether lane `lane`'s text is empty (rendered to find out unless a renderer knows).
  [[nodiscard]] virtual bool empty(std::uint32_t lane) const {
    std::string text;
    append(text, lane);
    return text.empty();
  }
};
using LaneSource = boost::intrusive_ptr<const LaneRenderer>;

/// A text rendered once and kept: the same for every lane, its characters in the renderer's own
/// allocation (one allocation, no larger than a std::string's).
LaneSource stored_text(std::string_view text);

/// A finding's `let` values, in the order of the rule's lets. The names are shared by every finding
/// of the rule; the values are kept in one string, each followed by a NUL byte (JSON text never
/// holds one: control characters are escaped), or rendered that way each time they are read (the
/// deferred form, EvalOptions::defer_texts). A million findings with four lets each would
/// otherwise hold four million strings and their vector entries.
class EvidenceList {
 public:
  EvidenceList() = default;
  /// `values` holds each let's JSON followed by a NUL byte, in the order of `names`.
  EvidenceList(SharedStrings names, std::string_view values) : names_(names), values_(stored_text(values)) {}
  /// Values rendered by `source` for `lane` when read, in the same form.
  EvidenceList(SharedStrings names, LaneSource source, std::uint32_t lane)
      : names_(names), values_(std::move(source)), lane_(lane) {}

  [[nodiscard]] std::size_t size() const { return names_.size(); }
  [[nodiscard]] bool empty() const { return names_.empty(); }

  class const_iterator {
   public:
    using value_type = Evidence;
    using difference_type = std::ptrdiff_t;
    const_iterator() = default;
    Evidence operator*() const { return {(*names_)[index_], values_.substr(at_, values_.find('\0', at_) - at_)}; }
    const_iterator& operator++() {
      const std::size_t nul = values_.find('\0', at_);
      at_ = nul == std::string_view::npos ? values_.size() : nul + 1;
      ++index_;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator before = *this;
      ++*this;
      return before;
    }
    friend bool operator==(const const_iterator& a, const const_iterator& b) { return a.index_ == b.index_; }

   private:
    friend class EvidenceList;
    const_iterator(const SharedStrings* names, std::string_view values, std::shared_ptr<const std::string> rendered,
                   std::size_t index)
        : names_(names), values_(values), rendered_(std::move(rendered)), index_(index) {}
    const SharedStrings* names_ = nullptr;
    std::string_view values_;                     // the list's values, or rendered_
    std::shared_ptr<const std::string> rendered_;  // deferred values, rendered by begin()
    std::size_t index_ = 0;
    std::size_t at_ = 0;  // where the value begins in values_
  };
  /// The values' views stay valid while the list and the iterators over them are.
  [[nodiscard]] const_iterator begin() const {
    if (const std::string_view* stored = values_ ? values_->stored() : nullptr) return {&names_, *stored, nullptr, 0};
    auto rendered = std::make_shared<std::string>();
    if (values_) values_->append(*rendered, lane_);
    const std::string_view view(*rendered);
    return {&names_, view, std::move(rendered), 0};
  }
  [[nodiscard]] const_iterator end() const { return {&names_, {}, nullptr, names_.size()}; }  // compared by index

  /// The evidence as a range whose deferred values are rendered into `scratch` (valid while it
  /// and the list are): a report writer reuses one buffer instead of allocating per finding.
  struct Range {
    const_iterator first, last;
    [[nodiscard]] const_iterator begin() const { return first; }
    [[nodiscard]] const_iterator end() const { return last; }
  };
  [[nodiscard]] Range items(std::string& scratch) const {
    if (const std::string_view* stored = values_ ? values_->stored() : nullptr) {
      return {{&names_, *stored, nullptr, 0}, end()};
    }
    scratch.clear();
    if (values_) values_->append(scratch, lane_);
    return {{&names_, scratch, nullptr, 0}, end()};
  }

 private:
  SharedStrings names_;
  LaneSource values_;  // stored_text() or what renders lane_
  std::uint32_t lane_ = 0;
};

/// A finding's message, remedy or subject name: its text, or what renders the text each time it is
/// read. The evaluator defers them when asked (EvalOptions::defer_texts, for `check`, which writes
/// its report and exits): a million findings would otherwise hold a million rendered messages,
/// remedies and names (about 400 MB at a million accounts) until the report is written. A deferred
/// text reads the dataset it was evaluated over, which must outlive it unchanged. 16 bytes.
class FindingText {
 public:
  /// Renders the text of lane `lane` of a rule's findings.
  using Source = LaneRenderer;

  FindingText() = default;
  FindingText(std::string_view text) : source_(stored_text(text)) {}  // NOLINT: implicit, assigned from texts
  FindingText(const std::string& text) : FindingText(std::string_view(text)) {}  // NOLINT
  FindingText(const char* text) : FindingText(std::string_view(text)) {}         // NOLINT
  FindingText(LaneSource source, std::uint32_t lane) : source_(std::move(source)), lane_(lane) {}

  /// Appends the text to `out`.
  void append_to(std::string& out) const {
    if (source_) source_->append(out, lane_);
  }
  /// The text, rendered into `scratch` when deferred (valid while `scratch` and this are).
  [[nodiscard]] std::string_view view(std::string& scratch) const {
    if (!source_) return {};
    if (const std::string_view* stored = source_->stored()) return *stored;
    scratch.clear();
    source_->append(scratch, lane_);
    return scratch;
  }
  [[nodiscard]] std::string str() const {
    std::string text;
    append_to(text);
    return text;
  }
  [[nodiscard]] bool empty() const {
    if (!source_) return true;
    const std::string_view* stored = source_->stored();
    return stored ? stored->empty() : source_->empty(lane_);
  }

  friend bool operator==(const FindingText& a, const FindingText& b) { return a.str() == b.str(); }
  friend bool operator==(const FindingText& a, std::string_view b) { return a.str() == b; }
  friend bool operator==(const FindingText& a, const std::string& b) { return a.str() == b; }
  friend bool operator==(const FindingText& a, const char* b) { return a.str() == b; }
  friend std::string operator+(const std::string& a, const FindingText& b) { return a + b.str(); }
  friend std::string operator+(std::string&& a, const FindingText& b) {
    b.append_to(a);
    return std::move(a);
  }
  friend std::string operator+(const char* a, const FindingText& b) { return a + b.str(); }
  friend std::ostream& operator<<(std::ostream& out, const FindingText& text) { return out << text.str(); }

 private:
  LaneSource source_;  // stored_text() or what renders lane_; none: the empty text
  std::uint32_t lane_ = 0;
};

/// A 16-hex-digit FNV-1a hash of `pack|rule|entity|id`.
std::string fingerprint(std::string_view pack, std::string_view rule, std::string_view entity, std::string_view id);
/// The same hash in two steps, for a writer that fingerprints many findings of one rule: the state
/// after `pack|rule|entity|`, then the 16 digits for one id appended to `out`.
std::uint64_t fingerprint_seed(std::string_view pack, std::string_view rule, std::string_view entity);
void append_fingerprint(std::string& out, std::uint64_t seed, std::string_view id);

struct Finding {
  SharedString pack;
  SharedString pack_version;
  SharedString rule;
  SharedString title;  // the rule's; its rationale is in the compiled pack
  dsl::Severity base_severity = dsl::Severity::Medium;
  dsl::Severity severity = dsl::Severity::Medium;  // after escalation
  bool value_subject = false;   // the subject is a value (subject_id), not a row
  SharedString subject_entity;  // "accounts"; for value subjects the entity the values come from
  std::string subject_id;      // the row id, or the value
  FindingText subject_name;    // the row's `name` when it has one (deferred with the texts)
  FindingText message;
  FindingText remedy;
  SharedStrings tags;
  EvidenceList evidence;

  /// Stable across runs: the hash of pack, rule, entity and id (computed when asked, not kept: 64
  /// bytes a finding, a million findings at a million accounts).
  [[nodiscard]] std::string fingerprint() const { return engine::fingerprint(pack, rule, subject_entity, subject_id); }
};

/// Counts for one rule in one run.
struct RuleSummary {
  std::string pack;
  std::string rule;
  std::string title;  // the rule's; its rationale is in the compiled pack
  dsl::Severity severity = dsl::Severity::Medium;
  bool enabled = true;
  std::size_t subjects = 0;  // subjects the rule looked at
  std::size_t findings = 0;
  std::size_t unknown = 0;   // subjects for which `when` was unknown because of missing data
  double milliseconds = 0;
};

/// The deterministic output order: severity (highest first), rule id, subject id.
void sort_findings(std::vector<Finding>& findings);
/// The findings of `parts` (in the order of their concatenation) sorted into one vector, each
/// moved once; `parts` are left empty.
std::vector<Finding> sort_findings(std::vector<std::vector<Finding>>& parts);

}  // namespace rapport::engine
