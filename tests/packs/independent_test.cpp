// The count-based guidance rules computed a second time, in plain C++ straight from the loaded
// tables, over a generated dataset: the engine's findings must agree exactly (rule, subject,
// severity). Parameters are tightened with --set so that every rule has plenty of findings.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "cli/pipeline.hpp"
#include "diag/render.hpp"
#include "model/time.hpp"

namespace rapport {
namespace {

namespace fs = std::filesystem;
using Finding = std::tuple<std::string, std::string, std::string>;  // rule, subject, severity

class IndependentCheck : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("rapport_independent_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::string command = "python3 " + std::string(RAPPORT_SHARED_DIR) + "/datagen/gen_crm.py --out " + dir_.string() +
                          " --accounts 3000 --seed 11 --as-of 2026-11-01 --jobs 1 --quiet";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  /// Runs `rules` of the shipped packs over the generated data with the given overrides.
  static std::set<Finding> engine(const std::vector<std::string>& rules, const std::vector<std::string>& sets,
                                  cli::Pipeline& pipeline) {
    cli::PipelineOptions options;
    for (const char* pack : {"portfolio", "relationships", "service-gaps"}) {
      options.pack_paths.push_back(std::string(RAPPORT_SOURCE_DIR) + "/rulesets/" + pack);
    }
    options.data_dir = dir_.string();
    options.sets = sets;
    options.only_rules = rules;
    options.rapport_version = RAPPORT_VERSION;
    cli::prepare(options, pipeline);
    if (pipeline.exit_code == cli::kExitClean) cli::load_data(options, pipeline);
    EXPECT_EQ(pipeline.exit_code, cli::kExitClean) << diag::render_text(pipeline.sink.sorted());
    std::set<Finding> out;
    if (pipeline.exit_code != cli::kExitClean) return out;
    engine::EvalOptions eval;
    eval.as_of = kAsOf;
    eval.only_rules = rules;
    for (const auto& f : cli::evaluate_all(pipeline, eval).findings) {
      out.emplace(f.rule, f.subject_id, std::string(dsl::severity_name(f.severity)));
    }
    return out;
  }

  static inline fs::path dir_;
  static inline const double kAsOf = *model::parse_date("2026-11-01");
};

/// Typed access to a loaded table.
struct View {
  const model::Dataset& data;
  const model::Table& table;
  std::string text(const char* field, std::size_t row) const {
    const model::Column* c = table.column(field);
    if (!c || c->strings[row] == model::kMissingStr) return "";
    return std::string(data.strings.view(c->strings[row]));
  }
  double number(const char* field, std::size_t row) const { return table.column(field)->numbers[row]; }
  std::string id(std::size_t row) const { return std::string(data.strings.view(table.ids[row])); }
};

TEST_F(IndependentCheck, PortfolioCountsAgree) {
  cli::Pipeline pipeline;
  auto actual = engine({"dunbar_portfolio_limit", "inner_circle_strategic_limit", "unowned_or_inactive_owner"},
                       {"dunbar_limit=95", "inner_circle=2"}, pipeline);
  const model::Dataset& data = pipeline.dataset;
  View users{data, *data.table("users")};
  View accounts{data, *data.table("accounts")};
  std::map<std::string, std::size_t> user_row;
  for (std::size_t u = 0; u < users.table.size(); ++u) user_row[users.id(u)] = u;
  std::map<std::string, int> owned, strategic;
  std::set<Finding> expected;
  for (std::size_t a = 0; a < accounts.table.size(); ++a) {
    std::string owner = accounts.text("owner_id", a);
    std::string tier = accounts.text("tier", a);
    if (!owner.empty()) {
      ++owned[owner];
      if (tier == "strategic") ++strategic[owner];
    }
    // R04: an active owner whose role is account_manager or telesales; high for strategic and key.
    auto it = user_row.find(owner);
    bool ok = it != user_row.end() && users.number("active", it->second) == 1 &&
              (users.text("role", it->second) == "account_manager" || users.text("role", it->second) == "telesales");
    if (!ok) {
      expected.emplace("unowned_or_inactive_owner", accounts.id(a),
                       tier == "strategic" || tier == "key" ? "high" : "medium");
    }
  }
  for (std::size_t u = 0; u < users.table.size(); ++u) {
    if (users.text("role", u) != "account_manager" || users.number("active", u) != 1) continue;
    if (owned[users.id(u)] > 95) expected.emplace("dunbar_portfolio_limit", users.id(u), "high");
    if (strategic[users.id(u)] > 2) expected.emplace("inner_circle_strategic_limit", users.id(u), "high");
  }
  ASSERT_GT(expected.size(), 20u);  // the data really exercises the rules
  EXPECT_EQ(actual, expected);
}

TEST_F(IndependentCheck, BuyingCenterCoverageAgrees) {
  cli::Pipeline pipeline;
  auto actual = engine({"buying_center_coverage"}, {}, pipeline);
  const model::Dataset& data = pipeline.dataset;
  View accounts{data, *data.table("accounts")};
  View contacts{data, *data.table("contacts")};
  const std::vector<std::string> roles = {"executive", "decision_maker", "purchasing", "technical", "end_user"};
  // The window per region, as the shipped pack sets it (a default and per-region values).
  double default_window = 0;
  std::map<std::string, double> window_by_region;
  for (const auto& pack : pipeline.packs) {
    int slot = pack.pack.param_slot("coverage_window");
    if (slot < 0) continue;
    default_window = pack.params.values[slot].number;
    for (const auto& [region, value] : pack.params.keyed[slot]) window_by_region[region] = value.number;
  }
  ASSERT_GT(default_window, 0);
  std::map<std::string, std::set<std::string>> reached;
  std::map<std::string, std::string> region_of;
  for (std::size_t a = 0; a < accounts.table.size(); ++a) region_of[accounts.id(a)] = accounts.text("region", a);
  for (std::size_t c = 0; c < contacts.table.size(); ++c) {
    std::string account = contacts.text("account_id", c);
    auto keyed = window_by_region.find(region_of[account]);
    double window = keyed == window_by_region.end() ? default_window : keyed->second;
    double at = contacts.number("last_contacted_at", c);
    if (!std::isnan(at) && kAsOf - window <= at && at <= kAsOf) reached[account].insert(contacts.text("role", c));
  }
  std::set<Finding> expected;
  for (std::size_t a = 0; a < accounts.table.size(); ++a) {
    std::string tier = accounts.text("tier", a);
    if (tier != "strategic" && tier != "key") continue;
    const auto& got = reached[accounts.id(a)];
    bool gap = false;
    for (const auto& role : roles) gap = gap || !got.count(role);
    if (!gap) continue;
    bool escalate = tier == "strategic" && !got.count("decision_maker");
    expected.emplace("buying_center_coverage", accounts.id(a), escalate ? "critical" : "high");
  }
  ASSERT_GT(expected.size(), 20u);
  EXPECT_EQ(actual, expected);
}

TEST_F(IndependentCheck, DefinitionGapAgrees) {
  cli::Pipeline pipeline;
  auto actual = engine({"definition_gap"}, {}, pipeline);
  const model::Dataset& data = pipeline.dataset;
  View accounts{data, *data.table("accounts")};
  View opportunities{data, *data.table("opportunities")};
  const std::map<std::string, int> tier_rank = {{"basic", 0}, {"standard", 1}, {"premium", 2}, {"enterprise", 3}};
  const std::map<std::string, int> needed = {{"low", 0}, {"medium", 1}, {"high", 2}, {"mission_critical", 3}};
  std::map<std::string, std::string> criticality;
  for (std::size_t a = 0; a < accounts.table.size(); ++a) criticality[accounts.id(a)] = accounts.text("criticality", a);
  std::set<Finding> expected;
  for (std::size_t o = 0; o < opportunities.table.size(); ++o) {
    std::string stage = opportunities.text("stage", o);
    if (stage != "proposal" && stage != "negotiation" && stage != "closed_won") continue;
    auto have = tier_rank.find(opportunities.text("service_tier", o));
    auto need = needed.find(criticality[opportunities.text("account_id", o)]);
    if (have == tier_rank.end() || need == needed.end()) continue;
    if (have->second < need->second) expected.emplace("definition_gap", opportunities.id(o), "high");
  }
  ASSERT_GT(expected.size(), 20u);
  EXPECT_EQ(actual, expected);
}

// Rules evaluated in parallel (EvalOptions::threads) give exactly what one thread gives: every
// finding with its severity, message, remedy and evidence, in the same order, and the same rule
// summaries. All four shipped packs, so rules of different packs run side by side.
TEST_F(IndependentCheck, ParallelEvaluationEqualsSerial) {
  cli::PipelineOptions options;
  for (const char* pack : {"portfolio", "relationships", "service-gaps", "service-operations"}) {
    options.pack_paths.push_back(std::string(RAPPORT_SOURCE_DIR) + "/rulesets/" + pack);
  }
  options.data_dir = dir_.string();
  options.rapport_version = RAPPORT_VERSION;
  cli::Pipeline pipeline;
  cli::prepare(options, pipeline);
  if (pipeline.exit_code == cli::kExitClean) cli::load_data(options, pipeline);
  ASSERT_EQ(pipeline.exit_code, cli::kExitClean) << diag::render_text(pipeline.sink.sorted());
  auto describe = [](const engine::EvalResult& result) {
    std::string out;
    for (const auto& r : result.rules) {
      out += r.pack + "/" + r.rule + " " + std::to_string(r.subjects) + " " + std::to_string(r.findings) + " " +
             std::to_string(r.unknown) + (r.enabled ? "\n" : " disabled\n");
    }
    for (const auto& f : result.findings) {
      out += f.fingerprint() + " " + f.rule + " " + f.subject_id + " (" + f.subject_name + ") " +
             std::string(dsl::severity_name(f.severity)) + ": " + f.message + " | " + f.remedy + "\n";
      for (const auto e : f.evidence) out += "  " + std::string(e.name) + " = " + std::string(e.json) + "\n";
    }
    return out;
  };
  engine::EvalOptions eval;
  eval.as_of = kAsOf;
  eval.threads = 1;
  const engine::EvalResult serial = cli::evaluate_all(pipeline, eval);
  ASSERT_EQ(serial.rules.size(), 17u);
  ASSERT_GT(serial.findings.size(), 1000u);
  const std::string expected = describe(serial);
  for (unsigned threads : {2u, 5u}) {
    eval.threads = threads;
    EXPECT_EQ(describe(cli::evaluate_all(pipeline, eval)), expected) << threads << " threads";
  }
  // Messages, remedies and names rendered when read (as `check` does) read the same as those
  // rendered when found, whatever the thread count; and so do subjects judged in small batches
  // (every rule with more than one batch, percentile ranks over the run included).
  eval.defer_texts = true;
  for (unsigned threads : {1u, 2u}) {
    eval.threads = threads;
    EXPECT_EQ(describe(cli::evaluate_all(pipeline, eval)), expected) << threads << " threads, deferred texts";
  }
  eval.defer_texts = false;
  for (std::size_t batch : {std::size_t{1}, std::size_t{97}}) {
    eval.subject_batch = batch;
    eval.threads = 2;
    EXPECT_EQ(describe(cli::evaluate_all(pipeline, eval)), expected) << "batches of " << batch << " subjects";
  }
  // `where` conditions tested a slice of candidates at a time: sets of all rows (the subjects of
  // discount_and_sla_same_activity, 30,000 activities) split across batches, and small sets
  // gathered into one.
  eval.subject_batch = engine::EvalOptions{}.subject_batch;
  for (std::size_t batch : {std::size_t{7}, std::size_t{4099}}) {
    eval.filter_batch = batch;
    EXPECT_EQ(describe(cli::evaluate_all(pipeline, eval)), expected) << "filter batches of " << batch << " rows";
  }
  eval.filter_batch = engine::EvalOptions{}.filter_batch;
  // References that keep only their target row (as `check` keeps them) read as before: joins on
  // them, navigation and texts, on one thread and two.
  model::compact_references(pipeline.dataset);
  const model::Column& account = pipeline.dataset.table("activities")->columns.at("account_id");
  ASSERT_TRUE(account.strings_compacted);
  ASSERT_TRUE(account.strings.empty());
  for (unsigned threads : {1u, 2u}) {
    eval.threads = threads;
    EXPECT_EQ(describe(cli::evaluate_all(pipeline, eval)), expected) << threads << " threads, compacted references";
  }
  // Numbers packed into whole offsets and texts encoded in a dictionary (as `check` keeps them)
  // read as before too: flags, scores and timestamps in one and four bytes, types, statuses and
  // tiers in a byte.
  model::compact_numbers(pipeline.dataset);
  model::compact_texts(pipeline.dataset);
  const model::Table& activities = *pipeline.dataset.table("activities");
  EXPECT_EQ(activities.columns.at("on_site").number_width, 1);
  EXPECT_EQ(activities.columns.at("started_at").number_width, 4);
  EXPECT_EQ(pipeline.dataset.table("cases")->columns.at("csat").number_width, 1);
  ASSERT_TRUE(activities.columns.at("started_at").numbers.empty());
  EXPECT_EQ(activities.columns.at("type").code_width, 1);
  EXPECT_EQ(pipeline.dataset.table("accounts")->columns.at("tier").code_width, 1);
  ASSERT_TRUE(activities.columns.at("type").strings.empty());
  for (unsigned threads : {1u, 2u}) {
    eval.threads = threads;
    EXPECT_EQ(describe(cli::evaluate_all(pipeline, eval)), expected) << threads << " threads, packed numbers and texts";
  }
  // The data loaded as `check` loads it: compacted as it loads, and the ids of the tables that
  // nothing refers to and no rule reads (activities, cases) front-coded instead of interned.
  options.compact_data = true;
  cli::Pipeline compact;
  cli::prepare(options, compact);
  if (compact.exit_code == cli::kExitClean) cli::load_data(options, compact);
  ASSERT_EQ(compact.exit_code, cli::kExitClean) << diag::render_text(compact.sink.sorted());
  EXPECT_FALSE(compact.dataset.table("activities")->interned_ids());
  EXPECT_FALSE(compact.dataset.table("cases")->interned_ids());
  EXPECT_TRUE(compact.dataset.table("accounts")->interned_ids());
  EXPECT_LT(compact.dataset.strings.size(), pipeline.dataset.strings.size() / 2);
  eval.defer_texts = true;
  for (unsigned threads : {1u, 2u}) {
    eval.threads = threads;
    EXPECT_EQ(describe(cli::evaluate_all(compact, eval)), expected) << threads << " threads, as `check` loads the data";
  }
}

}  // namespace
}  // namespace rapport
