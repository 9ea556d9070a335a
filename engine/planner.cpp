#include "engine/planner.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>

#include "engine/evaluator.hpp"
#include "engine/format.hpp"
#include "engine/plan_solver.hpp"

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

std::string id_of(const model::Dataset& data, const model::Table& table, std::int32_t row) {
  return std::string(data.strings.view(table.ids[row]));
}

std::string name_of(const model::Dataset& data, const model::Table& table, std::int32_t row) {
  const model::Column* names = table.column("name");
  if (names && row >= 0 && static_cast<std::size_t>(row) < names->strings.size() &&
      names->strings[row] != model::kMissingStr) {
    return std::string(data.strings.view(names->strings[row]));
  }
  return id_of(data, table, row);
}

/// Sort keys of one row for `move first by`: numbers, or strings compared as text.
struct OrderValue {
  bool missing = true;
  double number = 0;
  std::string_view text;
};

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

  // The records taking part, in `move first` order (then by id).
  std::vector<std::int32_t> item_rows(assigned->size());
  std::iota(item_rows.begin(), item_rows.end(), 0);
  if (plan.assign_where) {
    std::vector<bool> in = rows.holds(*plan.assign_where, item_rows);
    std::vector<std::int32_t> kept_rows;
    for (std::size_t i = 0; i < item_rows.size(); ++i) {
      if (in[i]) kept_rows.push_back(item_rows[i]);
    }
    item_rows = std::move(kept_rows);
  }
  {
    std::vector<std::vector<OrderValue>> keys(plan.move_first.size(), std::vector<OrderValue>(assigned->size()));
    for (std::size_t k = 0; k < plan.move_first.size(); ++k) {
      Vec v = rows.eval(plan.move_first[k].key, item_rows);
      for (std::size_t i = 0; i < item_rows.size(); ++i) {
        OrderValue& o = keys[k][item_rows[i]];
        if (storage_of(v.kind) == Storage::String) {
          model::StrId s = v.str[v.at(i)];
          o.missing = s == model::kMissingStr;
          if (!o.missing) o.text = data.strings.view(s);
        } else {
          o.number = v.num[v.at(i)];
          o.missing = std::isnan(o.number);
        }
      }
    }
    std::sort(item_rows.begin(), item_rows.end(), [&](std::int32_t a, std::int32_t b) {
      for (std::size_t k = 0; k < keys.size(); ++k) {
        const OrderValue& x = keys[k][a];
        const OrderValue& y = keys[k][b];
        if (x.missing != y.missing) return y.missing;  // missing values move last
        if (x.missing) continue;
        int c = x.text.data() || y.text.data() ? x.text.compare(y.text) : (x.number < y.number ? -1 : x.number > y.number ? 1 : 0);
        if (c != 0) return plan.move_first[k].descending ? c > 0 : c < 0;
      }
      return data.strings.view(assigned->ids[a]) < data.strings.view(assigned->ids[b]);
    });
  }
  const std::size_t n = item_rows.size();
  result.records = n;
  problem.items.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::int32_t owner = link->rows[item_rows[i]];
    problem.items[i].current = owner == model::kNoRow ? -1 : target_of_row[owner];
    problem.items[i].weight.assign(dims, 1);
    problem.items[i].keys.assign(prefs, kNoKey);
  }
  for (const auto& keep : plan.keeps) {
    std::vector<bool> k = rows.holds(keep, item_rows);
    for (std::size_t i = 0; i < n; ++i) problem.items[i].fixed = problem.items[i].fixed || k[i];
  }
  for (std::size_t l = 0; l < dims; ++l) {
    const auto& limit = plan.limits[l];
    std::optional<Vec> weight, when;
    if (limit.weight) weight = rows.eval(*limit.weight, item_rows);
    if (limit.when) when = rows.eval(*limit.when, item_rows);
    for (std::size_t i = 0; i < n; ++i) {
      double w = weight ? weight->num[weight->at(i)] : 1;
      if (std::isnan(w)) w = 0;  // a missing value adds nothing to a sum
      if (when && when->num[when->at(i)] != 1) w = 0;
      if (w < 0) {
        throw PlanError("limit `" + result.limits[l] + "`: " + id_of(data, *assigned, item_rows[i]) + " adds " +
                        format_number(w, dsl::Unit::None) + "; a limit's values must not be negative");
      }
      problem.items[i].weight[l] = w;
    }
  }
  for (std::size_t j = 0; j < prefs; ++j) {
    Vec key = rows.eval(plan.prefers[j].assigned_key, item_rows);
    for (std::size_t i = 0; i < n; ++i) problem.items[i].keys[j] = key_of(key, i);
  }

  planning::Solution solution = planning::solve(problem);
  result.minimal = solution.minimal;

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
    load.id = id_of(data, *users, target_rows[t]);
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
  std::vector<std::int32_t> moved_rows, dest_rows;
  for (std::size_t i : moved) {
    moved_rows.push_back(item_rows[i]);
    dest_rows.push_back(target_rows[solution.items[i].target]);
  }
  auto render = [&](const std::vector<dsl::PlanTemplatePart>& parts) {
    std::vector<std::string> out(moved.size());
    for (const auto& part : parts) {
      if (!part.is_expr) {
        for (auto& s : out) s += part.text;
        continue;
      }
      Vec v = rows.eval(part.expr, part.of_target ? dest_rows : moved_rows);
      for (std::size_t k = 0; k < moved.size(); ++k) out[k] += format_lane(v, part.expr.type, k, data);
    }
    return out;
  };
  std::vector<std::string> messages = render(plan.message);
  std::vector<std::string> remedies = render(plan.remedy);
  const std::string target_where = plan.source.to.where ? pack.text_of(plan.source.to.where->span) : "";
  for (std::size_t k = 0; k < moved.size(); ++k) {
    const std::size_t i = moved[k];
    const auto& p = solution.items[i];
    const auto& item = problem.items[i];
    PlanMove move;
    move.record = id_of(data, *assigned, item_rows[i]);
    move.record_name = name_of(data, *assigned, item_rows[i]);
    std::int32_t owner = link->rows[item_rows[i]];
    if (owner != model::kNoRow) {
      move.from = id_of(data, *users, owner);
      move.from_name = name_of(data, *users, owner);
    } else if (link->strings[item_rows[i]] != model::kMissingStr) {
      move.from = std::string(data.strings.view(link->strings[item_rows[i]]));  // an id the data doesn't have
      move.from_name = move.from;
    }
    move.to = result.targets[p.target].id;
    move.to_name = result.targets[p.target].name;
    move.to_overflow = problem.targets[p.target].overflow;
    move.id = "mv-" + fingerprint(pack.name, plan.id, move.record, move.from + ">" + move.to);
    if (p.reason == planning::Reason::NoTarget) {
      ++result.without_target;
      if (owner == model::kNoRow && move.from.empty()) move.reasons.push_back("no owner");
      else if (owner == model::kNoRow) move.reasons.push_back("owner " + move.from + " is not in the data");
      else move.reasons.push_back("owner " + move.from + " is not a target" + (target_where.empty() ? "" : " (" + target_where + ")"));
    } else {
      ++result.relieved;
      const std::size_t from = static_cast<std::size_t>(item.current);
      for (std::size_t l = 0; l < dims; ++l) {
        if (!(p.over & (1u << l))) continue;
        move.reasons.push_back(move.from + " is over `" + result.limits[l] + "` (" +
                               format_number(solution.before[from][l], dsl::Unit::None) + " > " +
                               format_number(problem.targets[from].capacity[l], dsl::Unit::None) + ")");
      }
    }
    for (std::size_t j = 0; j < prefs; ++j) {
      if (p.preferred & (1u << j)) move.reasons.push_back(result.preferences[j]);
    }
    if (move.to_overflow) {
      ++result.to_overflow;
      move.reasons.push_back("no target had room: overflow to " + move.to);
    } else {
      move.reasons.push_back("least loaded target with room");
    }
    move.message = messages[k];
    move.remedy = remedies[k];
    result.moves.push_back(std::move(move));
  }
  std::sort(result.moves.begin(), result.moves.end(),
            [](const PlanMove& a, const PlanMove& b) { return a.record < b.record; });

  // What found no room, and how much capacity is missing per value of the first preference.
  struct Short {
    std::size_t records = 0;
    std::size_t unplaced = 0;
    std::vector<double> weight;
  };
  std::map<std::string, Short> shortage;
  std::vector<std::string> pref0_text(n);
  if (prefs > 0) {
    Vec key = rows.eval(plan.prefers[0].assigned_key, item_rows);
    for (std::size_t i = 0; i < n; ++i) {
      if (solution.items[i].unplaced || (solution.items[i].moved && problem.targets[solution.items[i].target].overflow)) {
        pref0_text[i] = format_lane(key, plan.prefers[0].assigned_key.type, i, data);
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto& p = solution.items[i];
    const bool overflowed = p.moved && problem.targets[p.target].overflow;
    if (!p.unplaced && !overflowed) continue;
    Short& s = shortage[pref0_text[i]];
    ++s.records;
    s.unplaced += p.unplaced;
    s.weight.resize(dims, 0);
    for (std::size_t l = 0; l < dims; ++l) s.weight[l] += problem.items[i].weight[l];
    if (p.unplaced) {
      PlanUnplaced u;
      u.record = id_of(data, *assigned, item_rows[i]);
      u.record_name = name_of(data, *assigned, item_rows[i]);
      if (problem.items[i].current >= 0) u.from = result.targets[problem.items[i].current].id;
      u.reason = p.reason == planning::Reason::NoTarget ? "it has no valid owner and no target has room"
                                                         : "its owner is over a limit and no target has room";
      result.unplaced.push_back(std::move(u));
    }
  }
  std::sort(result.unplaced.begin(), result.unplaced.end(),
            [](const PlanUnplaced& a, const PlanUnplaced& b) { return a.record < b.record; });
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
    f.fingerprint = fingerprint(pack.name, plan.id, entity, f.subject_id);
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
    const std::string owner_text = owner == model::kNoRow ? "nobody" : name_of(data, *users, owner) + " (" + id_of(data, *users, owner) + ")";
    const std::string name = name_of(data, *assigned, item_rows[i]);
    add_finding(plan.assign_entity, id_of(data, *assigned, item_rows[i]), name,
                name + " stays with " + owner_text + ", who is not a target" +
                    (target_where.empty() ? "" : " (" + target_where + ")") + ": `keep " + keep_text + "` holds it in place.",
                "Reassign it by hand if " + owner_text + " should not own it.");
  }
  sort_findings(result.findings);
  return result;
}

}  // namespace rapport::engine
