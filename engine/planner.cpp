#include "engine/planner.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "engine/evaluator.hpp"
#include "engine/format.hpp"
#include "engine/parallel.hpp"
#include "engine/plan_solver.hpp"
#include "engine/radix_sort.hpp"

namespace rapport::engine {

namespace {

using planning::kNoKey;
using planning::kUnlimited;

/// Evaluates plan clauses for many rows at once: frame 1 is the row.
class Rows {
 public:
  Rows(const dsl::CompiledPack& pack, const dsl::ParamValues& params, model::Dataset& data, double as_of)
      : rule_(), probe_(pack, params, data, rule_, as_of) {}
  Vec eval(const dsl::Node& node, const std::vector<std::int32_t>& rows) { return probe_.eval_rows(node, 1, rows); }
  /// A condition per row: true only when it holds (unknown is not true).
  std::vector<bool> holds(const dsl::Node& node, const std::vector<std::int32_t>& rows) {
    Vec v = eval(node, rows);
    std::vector<bool> out(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) out[i] = v.num[v.at(i)] == 1;
    return out;
  }

 private:
  dsl::CompiledRule rule_;
  SubjectProbe probe_;
};

std::uint64_t key_of(const Vec& v, std::size_t lane) {
  switch (storage_of(v.kind)) {
    case Storage::String: {
      model::StrId id = v.str[v.at(lane)];
      return id == model::kMissingStr ? kNoKey : id;
    }
    case Storage::Row: {
      std::int32_t row = v.row[v.at(lane)];
      return row == model::kNoRow ? kNoKey : static_cast<std::uint64_t>(row);
    }
    case Storage::Number: {
      double d = v.num[v.at(lane)];
      if (std::isnan(d)) return kNoKey;
      if (d == 0) d = 0;  // -0 == 0
      std::uint64_t bits;
      std::memcpy(&bits, &d, sizeof bits);
      return bits;
    }
  }
  return kNoKey;
}

std::string name_of(const model::Dataset& data, const model::Table& table, std::int32_t row) {
  if (row >= 0) {
    if (const model::StrId name = model::name_at(data, table, static_cast<std::size_t>(row)); name != model::kMissingStr) {
      return std::string(data.strings.view(name));
    }
  }
  return model::id_of(data, table, static_cast<std::size_t>(row));
}

/// Compares rows of a table by id: as row numbers when the ids are in row order (exports usually
/// are), else as text.
class IdOrder {
 public:
  IdOrder(const model::Dataset& data, const model::Table& table) : data_(data), table_(table) {
    for (std::size_t r = 1; r < table.size() && in_row_order_; ++r) in_row_order_ = view(r - 1) < view(r);
  }
  bool operator()(std::int32_t a, std::int32_t b) const { return in_row_order_ ? a < b : view(a) < view(b); }
  [[nodiscard]] bool in_row_order() const { return in_row_order_; }

 private:
  std::string_view view(std::size_t row) const { return data_.strings.view(table_.ids[row]); }
  const model::Dataset& data_;
  const model::Table& table_;
  bool in_row_order_ = true;
};

/// Sorts items (indexes into `item_rows`) by their record's id: by row, with a radix sort, when
/// the ids are in row order.
void sort_by_record_id(std::vector<std::size_t>& items, const std::vector<std::int32_t>& item_rows,
                       const IdOrder& order) {
  if (order.in_row_order()) {
    stable_radix_sort(items, [&](std::size_t i) { return static_cast<std::uint64_t>(item_rows[i]); });
  } else {
    std::sort(items.begin(), items.end(), [&](std::size_t a, std::size_t b) { return order(item_rows[a], item_rows[b]); });
  }
}

/// One `move first by` key per lane as an integer that sorts the same way: numbers by value,
/// texts by their rank among the texts present, reversed when descending; missing values last.
std::vector<std::uint64_t> order_codes(const Vec& v, bool descending, const model::Dataset& data, std::size_t lanes) {
  constexpr std::uint64_t kMissing = ~std::uint64_t{0};
  std::vector<std::uint64_t> codes(lanes, kMissing);
  if (storage_of(v.kind) == Storage::String) {
    // Rank the distinct texts: the lanes by string id, then the ids by text.
    std::vector<std::pair<model::StrId, std::uint32_t>> by_id;
    for (std::size_t i = 0; i < lanes; ++i) {
      model::StrId id = v.str[v.at(i)];
      if (id != model::kMissingStr) by_id.emplace_back(id, static_cast<std::uint32_t>(i));
    }
    std::sort(by_id.begin(), by_id.end());
    std::vector<model::StrId> distinct;
    for (const auto& [id, lane] : by_id) {
      if (distinct.empty() || distinct.back() != id) distinct.push_back(id);
    }
    std::vector<std::uint32_t> by_text(distinct.size());
    std::iota(by_text.begin(), by_text.end(), 0);
    std::sort(by_text.begin(), by_text.end(),
              [&](std::uint32_t a, std::uint32_t b) { return data.strings.view(distinct[a]) < data.strings.view(distinct[b]); });
    std::vector<std::uint64_t> rank(distinct.size());
    for (std::size_t k = 0; k < by_text.size(); ++k) {
      const bool same = k > 0 && data.strings.view(distinct[by_text[k]]) == data.strings.view(distinct[by_text[k - 1]]);
      rank[by_text[k]] = same ? rank[by_text[k - 1]] : k;
    }
    std::size_t d = 0;
    for (std::size_t k = 0; k < by_id.size(); ++k) {
      if (k > 0 && by_id[k].first != by_id[k - 1].first) ++d;
      codes[by_id[k].second] = descending ? distinct.size() - 1 - rank[d] : rank[d];
    }
    return codes;
  }
  for (std::size_t i = 0; i < lanes; ++i) {
    double x = v.num[v.at(i)];
    if (std::isnan(x)) continue;
    x += 0.0;  // -0 == 0
    std::uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    const std::uint64_t code = bits >> 63 ? ~bits : bits | (std::uint64_t{1} << 63);  // IEEE order as unsigned
    codes[i] = descending ? ~code : code;  // never kMissing: ~code is all ones only for a NaN
  }
  return codes;
}

std::string plural(std::size_t n, const std::string& one, const std::string& many) {
  return with_thousands(n) + " " + (n == 1 ? one : many);
}

}  // namespace

PlanResult run_plan(const dsl::CompiledPack& pack, const dsl::CompiledPlan& plan, const dsl::ParamValues& params,
                    model::Dataset& data, double as_of) {
  PlanResult result;
  result.pack = pack.name;
  result.pack_version = pack.version;
  result.plan = plan.id;
  result.title = plan.title;
  result.entity = plan.assign_entity;
  result.target_entity = plan.target_entity;
  result.field = plan.by_field;
  for (const auto& l : plan.limits) result.limits.push_back(pack.text_of(l.span));
  for (const auto& p : plan.prefers) result.preferences.push_back(pack.text_of(p.span));

  const model::Table* assigned = data.table(plan.assign_entity);
  const model::Table* users = data.table(plan.target_entity);
  if (!assigned || !users) throw PlanError("the data has no " + std::string(!assigned ? plan.assign_entity : plan.target_entity));
  const model::Column* link = assigned->column(plan.by_field);
  if (!link) throw PlanError(plan.assign_entity + "." + plan.by_field + " is not loaded");
  auto stage_started = std::chrono::steady_clock::now();
  auto stage_done = [&](const char* stage) {
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - stage_started).count();
    result.stage_seconds.emplace_back(stage, seconds);
    stage_started = now;
  };
  Rows rows(pack, params, data, as_of);
  const std::size_t dims = plan.limits.size();
  const std::size_t prefs = plan.prefers.size();

  // Targets and overflow targets, in id order (the tie-break order).
  std::vector<std::int32_t> all_users(users->size());
  std::iota(all_users.begin(), all_users.end(), 0);
  std::vector<bool> is_target(users->size(), true), is_overflow(users->size(), false);
  if (plan.target_where) is_target = rows.holds(*plan.target_where, all_users);
  if (plan.has_overflow) {
    is_overflow = plan.overflow_where ? rows.holds(*plan.overflow_where, all_users) : std::vector<bool>(users->size(), true);
  }
  std::vector<std::int32_t> target_rows;
  for (std::int32_t r : all_users) {
    if (is_target[r] || is_overflow[r]) target_rows.push_back(r);
  }
  auto by_id = [&](const model::Table& table) {
    return [&](std::int32_t a, std::int32_t b) {
      return data.strings.view(table.ids[a]) < data.strings.view(table.ids[b]);
    };
  };
  // Targets first, then the overflow, each in id order.
  std::stable_sort(target_rows.begin(), target_rows.end(), by_id(*users));
  std::stable_partition(target_rows.begin(), target_rows.end(), [&](std::int32_t r) { return is_target[r]; });

  planning::Problem problem;
  problem.preferences = prefs;
  for (const auto& l : plan.limits) problem.strict.push_back(l.strict);
  problem.targets.resize(target_rows.size());
  std::vector<int> target_of_row(users->size(), -1);
  for (std::size_t t = 0; t < target_rows.size(); ++t) {
    target_of_row[target_rows[t]] = static_cast<int>(t);
    problem.targets[t].overflow = !is_target[target_rows[t]];
    problem.targets[t].capacity.assign(dims, kUnlimited);
    problem.targets[t].keys.assign(prefs, kNoKey);
  }
  for (std::size_t l = 0; l < dims; ++l) {
    Vec cap = rows.eval(plan.limits[l].capacity, target_rows);
    for (std::size_t t = 0; t < target_rows.size(); ++t) {
      double c = cap.num[cap.at(t)];
      // A missing bound can't be met or broken: the limit doesn't apply to that target.
      if (!problem.targets[t].overflow && !std::isnan(c)) problem.targets[t].capacity[l] = c;
    }
  }
  for (std::size_t j = 0; j < prefs; ++j) {
    Vec key = rows.eval(plan.prefers[j].target_key, target_rows);
    for (std::size_t t = 0; t < target_rows.size(); ++t) problem.targets[t].keys[j] = key_of(key, t);
  }

  stage_done("targets and their bounds");
  // The records taking part, in file order; every clause is evaluated in that order, which reads
  // the columns front to back.
  std::vector<std::int32_t> file_rows(assigned->size());
  std::iota(file_rows.begin(), file_rows.end(), 0);
  if (plan.assign_where) {
    std::vector<bool> in = rows.holds(*plan.assign_where, file_rows);
    std::vector<std::int32_t> kept_rows;
    for (std::size_t i = 0; i < file_rows.size(); ++i) {
      if (in[i]) kept_rows.push_back(file_rows[i]);
    }
    file_rows = std::move(kept_rows);
  }
  const std::size_t n = file_rows.size();
  // Then in `move first` order (then by id): item i is the record in lane lane_of[i].
  const IdOrder item_order(data, *assigned);
  std::vector<std::uint32_t> lane_of(n);
  {
    std::vector<std::vector<std::uint64_t>> keys;
    for (const auto& key : plan.move_first) {
      keys.push_back(order_codes(rows.eval(key.key, file_rows), key.descending, data, n));
    }
    // The first key sits next to its row, so that most comparisons read nothing else.
    struct Sorted {
      std::uint64_t first;
      std::int32_t row;
      std::uint32_t lane;
    };
    std::vector<Sorted> sorted(n);
    for (std::uint32_t i = 0; i < n; ++i) sorted[i] = Sorted{keys.empty() ? 0 : keys[0][i], file_rows[i], i};
    if (keys.size() <= 1 && item_order.in_row_order()) {
      // The lanes are in row order, which is then id order: sorting by the one key stably is all.
      stable_radix_sort(sorted, [](const Sorted& s) { return s.first; });
    } else {
      std::sort(sorted.begin(), sorted.end(), [&](const Sorted& a, const Sorted& b) {
        if (a.first != b.first) return a.first < b.first;
        for (std::size_t k = 1; k < keys.size(); ++k) {
          if (keys[k][a.lane] != keys[k][b.lane]) return keys[k][a.lane] < keys[k][b.lane];
        }
        return item_order(a.row, b.row);
      });
    }
    for (std::size_t i = 0; i < n; ++i) lane_of[i] = sorted[i].lane;
  }
  stage_done("records in `move first` order");
  std::vector<std::int32_t> item_rows(n);
  for (std::size_t i = 0; i < n; ++i) item_rows[i] = file_rows[lane_of[i]];
  result.records = n;
  // The clauses' values come in file order (lane order); each is written to its item's place,
  // reading the values front to back (the writes scatter; reads in item order would each wait).
  std::vector<std::uint32_t> item_of(n);
  for (std::size_t i = 0; i < n; ++i) item_of[lane_of[i]] = static_cast<std::uint32_t>(i);
  problem.items.resize(n);
  for (std::size_t lane = 0; lane < n; ++lane) {
    const std::int32_t owner = link->rows[file_rows[lane]];
    problem.items[item_of[lane]].current = owner == model::kNoRow ? -1 : target_of_row[owner];
  }
  for (const auto& keep : plan.keeps) {
    const Vec k = rows.eval(keep, file_rows);
    for (std::size_t lane = 0; lane < n; ++lane) {
      if (k.num[k.at(lane)] == 1) problem.items[item_of[lane]].fixed = true;  // unknown is not true
    }
  }
  problem.weights.assign(n * dims, 1);
  for (std::size_t l = 0; l < dims; ++l) {
    const auto& limit = plan.limits[l];
    std::optional<Vec> weight, when;
    if (limit.weight) weight = rows.eval(*limit.weight, file_rows);
    if (limit.when) when = rows.eval(*limit.when, file_rows);
    if (!weight && !when) continue;  // counts: every weight is 1
    std::size_t negative = n;        // the first item (in `move first` order) with a negative value
    for (std::size_t lane = 0; lane < n; ++lane) {
      const std::size_t i = item_of[lane];
      double w = weight ? weight->num[weight->at(lane)] : 1;
      if (std::isnan(w)) w = 0;  // a missing value adds nothing to a sum
      if (when && when->num[when->at(lane)] != 1) w = 0;
      if (w < 0) negative = std::min(negative, i);
      problem.weights[i * dims + l] = w;
    }
    if (negative < n) {
      throw PlanError("limit `" + result.limits[l] + "`: " +
                      model::id_of(data, *assigned, static_cast<std::size_t>(item_rows[negative])) + " adds " +
                      format_number(problem.weights[negative * dims + l], dsl::Unit::None) +
                      "; a limit's values must not be negative");
    }
  }
  problem.keys.assign(n * prefs, kNoKey);
  std::optional<Vec> first_preference;  // the shortfall is reported per value of it
  for (std::size_t j = 0; j < prefs; ++j) {
    Vec key = rows.eval(plan.prefers[j].assigned_key, file_rows);
    for (std::size_t lane = 0; lane < n; ++lane) problem.keys[item_of[lane] * prefs + j] = key_of(key, lane);
    if (j == 0) first_preference = std::move(key);
  }

  stage_done("weights, keys and keeps");
  planning::Solution solution = planning::solve(problem);
  result.minimal = solution.minimal;

  stage_done("solve");
  // Targets' loads.
  auto over = [&](const std::vector<double>& load, std::size_t t) {
    for (std::size_t l = 0; l < dims; ++l) {
      if (!planning::within(load[l], problem.targets[t].capacity[l], problem.strict[l])) return true;
    }
    return false;
  };
  std::vector<std::size_t> moved_in(target_rows.size(), 0), moved_out(target_rows.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& p = solution.items[i];
    if (!p.moved) continue;
    if (p.target >= 0) ++moved_in[p.target];
    if (problem.items[i].current >= 0) ++moved_out[problem.items[i].current];
  }
  for (std::size_t t = 0; t < target_rows.size(); ++t) {
    PlanTargetLoad load;
    load.id = model::id_of(data, *users, static_cast<std::size_t>(target_rows[t]));
    load.name = name_of(data, *users, target_rows[t]);
    load.overflow = problem.targets[t].overflow;
    load.count_before = solution.count_before[t];
    load.count_after = solution.count_after[t];
    load.moved_in = moved_in[t];
    load.moved_out = moved_out[t];
    load.before = solution.before[t];
    load.after = solution.after[t];
    load.capacity = problem.targets[t].capacity;
    if (!load.overflow) {
      load.over_before = over(load.before, t);
      load.over_after = over(load.after, t);
      result.over_before += load.over_before;
      result.over_after += load.over_after;
    }
    result.targets.push_back(std::move(load));
  }

  // Moves, with their reasons and texts.
  std::vector<std::size_t> moved;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& p = solution.items[i];
    result.kept += problem.items[i].fixed;
    if (p.moved) moved.push_back(i);
  }
  // By record id, the order of the report.
  sort_by_record_id(moved, item_rows, item_order);
  std::vector<std::int32_t> moved_rows, dest_rows;
  for (std::size_t i : moved) {
    moved_rows.push_back(item_rows[i]);
    dest_rows.push_back(target_rows[solution.items[i].target]);
  }
  // The templates' expressions, a column each over the moves (the evaluator runs on this thread).
  auto values_of = [&](const std::vector<dsl::PlanTemplatePart>& parts) {
    std::vector<std::optional<Vec>> values(parts.size());
    for (std::size_t k = 0; k < parts.size(); ++k) {
      if (parts[k].is_expr) values[k] = rows.eval(parts[k].expr, parts[k].of_target ? dest_rows : moved_rows);
    }
    return values;
  };
  const std::vector<std::optional<Vec>> message_values = values_of(plan.message);
  const std::vector<std::optional<Vec>> remedy_values = values_of(plan.remedy);
  // A template's text is about its fixed parts plus a name or so per value: reserved at once.
  auto reserve_of = [](const std::vector<dsl::PlanTemplatePart>& parts) {
    std::size_t size = 0;
    for (const auto& part : parts) size += part.is_expr ? 24 : part.text.size();
    return size;
  };
  const std::size_t message_reserve = reserve_of(plan.message);
  const std::size_t remedy_reserve = reserve_of(plan.remedy);
  auto render = [&](std::string& out, const std::vector<dsl::PlanTemplatePart>& parts,
                    const std::vector<std::optional<Vec>>& values, std::size_t reserve, std::size_t k) {
    out.reserve(reserve);
    for (std::size_t part = 0; part < parts.size(); ++part) {
      if (parts[part].is_expr) append_lane(out, *values[part], parts[part].expr.type, k, data);
      else out += parts[part].text;
    }
  };
  const std::string target_where = plan.source.to.where ? pack.text_of(plan.source.to.where->span) : "";
  // Why each record moves, in words that many moves share: each text is kept once in
  // result.reason_texts, and a move lists the indexes of its own. Every text a move needs is
  // made here, before the moves are shared between the cores; they only look them up.
  constexpr std::uint32_t kNone = ~std::uint32_t{0};
  auto add_reason = [&](std::uint32_t& id, std::string text) {
    if (id != kNone) return;
    id = static_cast<std::uint32_t>(result.reason_texts.size());
    result.reason_texts.push_back(std::move(text));
  };
  const model::TextValues owner_ids(data, *link);
  std::uint32_t no_owner = kNone, least_loaded = kNone;
  std::vector<std::uint32_t> not_a_target(users->size(), kNone);    // per user row: its owner text
  std::unordered_map<model::StrId, std::uint32_t> not_in_the_data;   // per owner id the data lacks
  std::vector<std::uint32_t> over_limit(target_rows.size() * dims, kNone);  // per target and limit
  std::vector<std::uint32_t> preferred(prefs, kNone), to_overflow(target_rows.size(), kNone);
  for (std::size_t i : moved) {
    const auto& p = solution.items[i];
    const std::int32_t owner = link->rows[item_rows[i]];
    if (p.reason == planning::Reason::NoTarget) {
      ++result.without_target;
      const model::StrId named = owner_ids[item_rows[i]];
      if (owner != model::kNoRow) {
        add_reason(not_a_target[owner], "owner " + model::id_of(data, *users, static_cast<std::size_t>(owner)) +
                                            " is not a target" + (target_where.empty() ? "" : " (" + target_where + ")"));
      } else if (named == model::kMissingStr || data.strings.view(named).empty()) {
        add_reason(no_owner, "no owner");  // as the move's `from` is then empty
      } else {
        auto [at, fresh] = not_in_the_data.try_emplace(named, kNone);
        add_reason(at->second, "owner " + std::string(data.strings.view(named)) + " is not in the data");
      }
    } else {
      ++result.relieved;
      const std::size_t from = static_cast<std::size_t>(problem.items[i].current);
      for (std::size_t l = 0; l < dims; ++l) {
        if (!(p.over & (1u << l)) || over_limit[from * dims + l] != kNone) continue;
        add_reason(over_limit[from * dims + l],
                   result.targets[from].id + " is over `" + result.limits[l] + "` (" +
                       format_number(solution.before[from][l], dsl::Unit::None) + " > " +
                       format_number(problem.targets[from].capacity[l], dsl::Unit::None) + ")");
      }
    }
    for (std::size_t j = 0; j < prefs; ++j) {
      if (p.preferred & (1u << j)) add_reason(preferred[j], result.preferences[j]);
    }
    if (problem.targets[p.target].overflow) {
      ++result.to_overflow;
      add_reason(to_overflow[p.target], "no target had room: overflow to " + result.targets[p.target].id);
    } else {
      add_reason(least_loaded, "least loaded target with room");
    }
  }
  // Each move is written by itself, so the moves are shared between the cores.
  constexpr std::size_t kMovesPerPart = 512;
  result.moves.resize(moved.size());
  for_each_part(moved.size(), kMovesPerPart, [&](std::size_t begin, std::size_t end) {
    std::string from_to;
    for (std::size_t k = begin; k < end; ++k) {
      const std::size_t i = moved[k];
      const auto& p = solution.items[i];
      PlanMove& move = result.moves[k];
      move.record = model::id_of(data, *assigned, static_cast<std::size_t>(item_rows[i]));
      move.record_name = name_of(data, *assigned, item_rows[i]);
      std::int32_t owner = link->rows[item_rows[i]];
      if (owner != model::kNoRow) {
        move.from = model::id_of(data, *users, static_cast<std::size_t>(owner));
        move.from_name = name_of(data, *users, owner);
      } else if (const model::StrId named = owner_ids[item_rows[i]]; named != model::kMissingStr) {
        move.from = std::string(data.strings.view(named));  // an id the data doesn't have
        move.from_name = move.from;
      }
      move.to = result.targets[p.target].id;
      move.to_name = result.targets[p.target].name;
      move.to_overflow = problem.targets[p.target].overflow;
      from_to.assign(move.from).append(">").append(move.to);
      move.id.reserve(3 + 16);
      move.id = "mv-";
      append_fingerprint(move.id, fingerprint_seed(pack.name, plan.id, move.record), from_to);
      move.reasons.reserve((p.reason == planning::Reason::NoTarget ? 1 : std::popcount(p.over)) +
                           std::popcount(p.preferred) + 1);
      if (p.reason != planning::Reason::NoTarget) {
        const std::size_t from = static_cast<std::size_t>(problem.items[i].current);
        for (std::size_t l = 0; l < dims; ++l) {
          if (p.over & (1u << l)) move.reasons.push_back(over_limit[from * dims + l]);
        }
      } else if (owner != model::kNoRow) {
        move.reasons.push_back(not_a_target[owner]);
      } else if (move.from.empty()) {
        move.reasons.push_back(no_owner);
      } else {
        move.reasons.push_back(not_in_the_data.find(owner_ids[item_rows[i]])->second);
      }
      for (std::size_t j = 0; j < prefs; ++j) {
        if (p.preferred & (1u << j)) move.reasons.push_back(preferred[j]);
      }
      move.reasons.push_back(move.to_overflow ? to_overflow[p.target] : least_loaded);
      render(move.message, plan.message, message_values, message_reserve, k);
      render(move.remedy, plan.remedy, remedy_values, remedy_reserve, k);
    }
  });

  stage_done("moves and their texts");
  // What found no room, and how much capacity is missing per value of the first preference.
  struct Short {
    std::size_t records = 0;
    std::size_t unplaced = 0;
    std::vector<double> weight;
  };
  std::map<std::string, Short> shortage;
  std::vector<std::size_t> unplaced;  // by record id
  std::string pref0_text;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& p = solution.items[i];
    const bool overflowed = p.moved && problem.targets[p.target].overflow;
    if (!p.unplaced && !overflowed) continue;
    pref0_text.clear();
    if (first_preference) append_lane(pref0_text, *first_preference, plan.prefers[0].assigned_key.type, lane_of[i], data);
    Short& s = shortage[pref0_text];
    ++s.records;
    s.unplaced += p.unplaced;
    s.weight.resize(dims, 0);
    for (std::size_t l = 0; l < dims; ++l) s.weight[l] += problem.weights[i * dims + l];
    if (p.unplaced) unplaced.push_back(i);
  }
  sort_by_record_id(unplaced, item_rows, item_order);
  for (std::size_t i : unplaced) {
    PlanUnplaced u;
    u.record = model::id_of(data, *assigned, static_cast<std::size_t>(item_rows[i]));
    u.record_name = name_of(data, *assigned, item_rows[i]);
    if (problem.items[i].current >= 0) u.from = result.targets[problem.items[i].current].id;
    u.reason = solution.items[i].reason == planning::Reason::NoTarget ? "it has no valid owner and no target has room"
                                                                       : "its owner is over a limit and no target has room";
    result.unplaced.push_back(std::move(u));
  }
  const std::string noun = plan.target_var + "s";
  std::vector<std::string> target_pref0_text(target_rows.size());
  if (prefs > 0 && !shortage.empty()) {
    Vec key = rows.eval(plan.prefers[0].target_key, target_rows);
    for (std::size_t t = 0; t < target_rows.size(); ++t) {
      target_pref0_text[t] = format_lane(key, plan.prefers[0].target_key.type, t, data);
    }
  }
  for (const auto& [key, s] : shortage) {
    // A typical target's room: the median bound of the targets sharing the key (else of all).
    std::size_t needed = 0;
    for (std::size_t l = 0; l < dims; ++l) {
      std::vector<double> caps;
      for (int pass = 0; pass < 2 && caps.empty(); ++pass) {
        for (std::size_t t = 0; t < target_rows.size(); ++t) {
          if (problem.targets[t].overflow || problem.targets[t].capacity[l] == kUnlimited) continue;
          if (pass == 0 && (key.empty() || target_pref0_text[t] != key)) continue;
          caps.push_back(problem.targets[t].capacity[l]);
        }
      }
      if (caps.empty()) continue;
      std::nth_element(caps.begin(), caps.begin() + static_cast<long>(caps.size() / 2), caps.end());
      double median = caps[caps.size() / 2];
      if (median <= 0) continue;
      needed = std::max(needed, static_cast<std::size_t>(std::ceil(s.weight[l] / median - 1e-9)));
    }
    PlanShortfall shortfall;
    shortfall.key = key;
    shortfall.records = s.records;
    shortfall.targets_needed = needed;
    std::string where = key.empty() ? "" : " with " + pack.text_of(plan.prefers[0].target_key.span) + " = " + key;
    std::string what = plural(s.records, model::singular_of(plan.assign_entity), plan.assign_entity);
    const std::string fate = s.unplaced == 0 ? " sent to the overflow"
                             : s.unplaced == s.records ? " left unplaced"
                                                       : " sent to the overflow or left unplaced";
    shortfall.text = needed > 0 ? plural(needed, "more " + plan.target_var, "more " + noun) + where +
                                      " (at the median limits) would take the " + what + fate
                                : "the " + what + where + fate + " found no target with room";
    result.shortfalls.push_back(std::move(shortfall));
  }

  // Findings: what the plan can't fix by itself.
  auto add_finding = [&](const std::string& entity, std::string id, std::string name, std::string message,
                         std::string remedy) {
    Finding f;
    f.pack = pack.name;
    f.pack_version = pack.version;
    f.rule = plan.id;
    f.title = plan.title;
    f.base_severity = f.severity = plan.severity;
    f.subject_entity = entity;
    f.subject_id = std::move(id);
    f.subject_name = std::move(name);
    f.message = std::move(message);
    f.remedy = std::move(remedy);
    f.tags = plan.tags;
    result.findings.push_back(std::move(f));
  };
  auto finding_for = [&](std::size_t t, std::string message, std::string remedy) {
    add_finding(plan.target_entity, result.targets[t].id, result.targets[t].name, std::move(message), std::move(remedy));
  };
  const std::string keep_text = plan.source.keeps.empty() ? "" : pack.text_of(plan.source.keeps.front().span);
  std::vector<std::size_t> kept_at(target_rows.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (problem.items[i].fixed && problem.items[i].current >= 0) ++kept_at[problem.items[i].current];
  }
  for (std::size_t t = 0; t < target_rows.size(); ++t) {
    const auto& load = result.targets[t];
    if (load.overflow) continue;
    std::vector<std::string> fixed, still;
    for (std::size_t l = 0; l < dims; ++l) {
      const std::string numbers = " (" + format_number(load.after[l], dsl::Unit::None) + " > " +
                                  format_number(load.capacity[l], dsl::Unit::None) + ")";
      if (solution.fixed_over[t] & (1u << l)) fixed.push_back("`" + result.limits[l] + "`" + numbers);
      else if (!planning::within(load.after[l], load.capacity[l], problem.strict[l])) still.push_back("`" + result.limits[l] + "`" + numbers);
    }
    if (!fixed.empty()) {
      std::string list;
      for (std::size_t k = 0; k < fixed.size(); ++k) list += (k ? " and " : "") + fixed[k];
      finding_for(t,
                  load.name + " keeps " + plural(kept_at[t], model::singular_of(plan.assign_entity), plan.assign_entity) +
                      " that may not move" +
                      (keep_text.empty() ? "" : " (keep " + keep_text + ")") + "; they alone break " + list +
                      ": this needs a human decision.",
                  "Decide which of them to hand over (the plan never moves them), or agree an exception for " +
                      load.name + ".");
    } else if (!still.empty()) {
      std::string list;
      for (std::size_t k = 0; k < still.size(); ++k) list += (k ? " and " : "") + still[k];
      finding_for(t, load.name + " is still over " + list + ": no target had room for what should leave.",
                  "Add capacity (see the shortfall), or add an `overflow to` clause to the plan.");
    }
  }
  // Kept records whose owner is not a target: `keep` holds them, so only a person can move them.
  for (std::size_t i = 0; i < n; ++i) {
    if (!problem.items[i].fixed || problem.items[i].current >= 0) continue;
    const std::int32_t owner = link->rows[item_rows[i]];
    const std::string owner_text =
        owner == model::kNoRow
            ? "nobody"
            : name_of(data, *users, owner) + " (" + model::id_of(data, *users, static_cast<std::size_t>(owner)) + ")";
    const std::string name = name_of(data, *assigned, item_rows[i]);
    add_finding(plan.assign_entity, model::id_of(data, *assigned, static_cast<std::size_t>(item_rows[i])), name,
                name + " stays with " + owner_text + ", who is not a target" +
                    (target_where.empty() ? "" : " (" + target_where + ")") + ": `keep " + keep_text + "` holds it in place.",
                "Reassign it by hand if " + owner_text + " should not own it.");
  }
  stage_done("shortfalls and findings");
  sort_findings(result.findings);
  return result;
}

}  // namespace rapport::engine
