// LiveSnapshot (engine/live.hpp): what_if() must say exactly what a full evaluation before and
// after the changes says (created, resolved, changed findings), while evaluating only the
// subjects the changes can affect; with_changes() must give the snapshot a full evaluation of the
// changed data gives, and leave the original untouched.

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <set>
#include <thread>
#include <unistd.h>

#include "cli/pipeline.hpp"
#include "engine/live.hpp"
#include "engine/live_deps.hpp"
#include "model/time.hpp"

namespace rapport {
namespace {

namespace fs = std::filesystem;
using engine::ChangeEffect;
using engine::LiveSnapshot;
using engine::RecordChange;

const double kAsOf = *model::parse_timestamp("2026-11-01T00:00:00Z");

/// The shipped packs over a data directory, as `rapport check` loads them.
std::shared_ptr<const LiveSnapshot> snapshot_of(const std::string& data_dir) {
  cli::PipelineOptions options;
  for (const char* pack : {"portfolio", "relationships", "service-gaps", "service-operations"}) {
    options.pack_paths.push_back(std::string(RAPPORT_SOURCE_DIR) + "/rulesets/" + pack);
  }
  options.data_dir = data_dir;
  options.rapport_version = RAPPORT_VERSION;
  cli::Pipeline pipeline;
  cli::prepare(options, pipeline);
  if (pipeline.exit_code == cli::kExitClean) cli::load_data(options, pipeline);
  EXPECT_EQ(pipeline.exit_code, cli::kExitClean)
      << (pipeline.sink.diagnostics().empty() ? "" : pipeline.sink.diagnostics().front().message);
  if (pipeline.exit_code != cli::kExitClean) return nullptr;
  return LiveSnapshot::build(std::move(pipeline.packs), std::move(pipeline.dataset), kAsOf);
}

/// A finding as the comparison sees it.
std::string line_of(const engine::Finding& f) {
  return f.fingerprint() + " " + std::string(dsl::severity_name(f.severity)) + " " + f.rule + " " + f.subject_id + " " +
         f.message;
}

std::set<std::string> lines(const std::vector<engine::Finding>& findings) {
  std::set<std::string> out;
  for (const auto& f : findings) out.insert(line_of(f));
  return out;
}

/// Full evaluation of every pack over a copy of `data`.
std::vector<engine::Finding> evaluate_fully(const LiveSnapshot& snapshot) {
  model::Dataset copy;
  model::copy_dataset(snapshot.data(), copy);
  engine::EvalOptions options;
  options.as_of = kAsOf;
  std::vector<engine::Finding> all;
  for (const auto& configured : snapshot.packs()) {
    auto result = engine::evaluate(configured.pack, configured.params, copy, options);
    all.insert(all.end(), result.findings.begin(), result.findings.end());
  }
  engine::sort_findings(all);
  return all;
}

/// The expected effect: the difference between the findings before and after.
struct Difference {
  std::set<std::string> created, resolved, changed;
};

Difference difference(const std::vector<engine::Finding>& before, const std::vector<engine::Finding>& after) {
  std::map<std::string, const engine::Finding*> old, now;
  for (const auto& f : before) old[f.fingerprint()] = &f;
  for (const auto& f : after) now[f.fingerprint()] = &f;
  Difference d;
  for (const auto& [key, f] : now) {
    auto it = old.find(key);
    if (it == old.end()) d.created.insert(line_of(*f));
    else if (it->second->severity != f->severity || it->second->message != f->message) d.changed.insert(line_of(*f));
  }
  for (const auto& [key, f] : old) {
    if (!now.count(key)) d.resolved.insert(line_of(*f));
  }
  return d;
}

/// The central property, for one change set: what_if equals the difference of full evaluations,
/// and with_changes gives the findings a full evaluation of the changed data gives.
void expect_consistent(const LiveSnapshot& snapshot, const std::vector<RecordChange>& changes, const std::string& what) {
  SCOPED_TRACE(what);
  ChangeEffect effect = snapshot.what_if(changes);
  ASSERT_TRUE(effect.ok()) << (effect.problems.empty() ? "" : effect.problems.front().message);
  ChangeEffect applied;
  auto next = snapshot.with_changes(changes, applied);
  ASSERT_TRUE(next);
  std::vector<engine::Finding> after = evaluate_fully(*next);
  Difference expected = difference(snapshot.findings(), after);
  EXPECT_EQ(lines(effect.created), expected.created);
  EXPECT_EQ(lines(effect.resolved), expected.resolved);
  EXPECT_EQ(lines(effect.changed), expected.changed);
  EXPECT_EQ(lines(applied.created), expected.created);
  EXPECT_EQ(lines(next->findings()), lines(after));
  EXPECT_EQ(next->findings().size(), after.size());
}

RecordChange upsert(std::string entity, std::string id, boost::json::object fields) {
  return {RecordChange::Kind::Upsert, std::move(entity), std::move(id), std::move(fields)};
}

RecordChange remove(std::string entity, std::string id) {
  return {RecordChange::Kind::Delete, std::move(entity), std::move(id), {}};
}

std::string example_data() { return std::string(RAPPORT_SOURCE_DIR) + "/examples/data"; }

class LiveExamples : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { snapshot_ = snapshot_of(example_data()); }
  static void TearDownTestSuite() { snapshot_.reset(); }
  static std::shared_ptr<const LiveSnapshot> snapshot_;
};
std::shared_ptr<const LiveSnapshot> LiveExamples::snapshot_;

std::string id_at(const LiveSnapshot& s, const std::string& entity, std::size_t row) {
  return std::string(s.data().strings.view(s.data().table(entity)->ids[row]));
}

TEST_F(LiveExamples, OwnerReassignment) {
  ASSERT_TRUE(snapshot_);
  for (std::size_t row : {0u, 5u, 17u}) {
    for (const char* user : {"usr-000010", "usr-000001", "nobody"}) {
      expect_consistent(*snapshot_, {upsert("accounts", id_at(*snapshot_, "accounts", row), {{"owner_id", user}})},
                        "account row " + std::to_string(row) + " to " + user);
    }
  }
  expect_consistent(*snapshot_, {upsert("accounts", id_at(*snapshot_, "accounts", 3), {{"owner_id", nullptr}})}, "unowned");
  // Owned by nobody known: a finding of its own, found by evaluating a few subjects only.
  const std::string account = id_at(*snapshot_, "accounts", 0);
  ChangeEffect effect = snapshot_->what_if({upsert("accounts", account, {{"owner_id", "nobody"}})});
  bool reported = std::any_of(effect.created.begin(), effect.created.end(), [&](const engine::Finding& f) {
    return f.rule == "unowned_or_inactive_owner" && f.subject_id == account &&
           f.message.str().find("is owned by nobody, who is not a known user.") != std::string::npos;
  });
  EXPECT_TRUE(reported);
  EXPECT_GT(effect.subjects_evaluated, 0u);
  EXPECT_LT(effect.subjects_evaluated, snapshot_->data().table("accounts")->size());
}

TEST_F(LiveExamples, TopicsAddedToAnActivity) {
  ASSERT_TRUE(snapshot_);
  for (std::size_t row : {0u, 9u, 40u}) {
    boost::json::array topics{"discount", "sla", "pricing"};
    expect_consistent(*snapshot_, {upsert("activities", id_at(*snapshot_, "activities", row), {{"topics", topics}})},
                      "activity row " + std::to_string(row));
  }
}

TEST_F(LiveExamples, ContractTierChange) {
  ASSERT_TRUE(snapshot_);
  for (std::size_t row : {0u, 2u, 11u}) {
    for (const char* tier : {"basic", "enterprise"}) {
      expect_consistent(*snapshot_, {upsert("contracts", id_at(*snapshot_, "contracts", row), {{"service_tier", tier}})},
                        "contract row " + std::to_string(row) + " " + tier);
    }
  }
}

TEST_F(LiveExamples, NewAccountAndItsActivity) {
  ASSERT_TRUE(snapshot_);
  expect_consistent(*snapshot_,
                    {upsert("accounts", "acc-new-1", {{"name", "Newco"}, {"owner_id", "usr-000010"}, {"tier", "strategic"},
                                                      {"region", "EMEA"}, {"annual_revenue", 10.0},
                                                      {"criticality", "mission_critical"}}),
                     upsert("activities", "act-new-1", {{"account_id", "acc-new-1"}, {"owner_id", "usr-000010"},
                                                        {"topics", boost::json::array{"discount", "sla"}},
                                                        {"started_at", "2026-10-20T10:00:00Z"}, {"type", "meeting"},
                                                        {"on_site", true}})},
                    "new account");
}

TEST_F(LiveExamples, DeletedActivityAndAccount) {
  ASSERT_TRUE(snapshot_);
  expect_consistent(*snapshot_, {remove("activities", id_at(*snapshot_, "activities", 3))}, "activity deleted");
  expect_consistent(*snapshot_, {remove("accounts", id_at(*snapshot_, "accounts", 1))}, "account deleted");
  expect_consistent(*snapshot_, {remove("users", "usr-000010")}, "user deleted");
}

/// Random changes from a fixed seed: owners, tiers, topics, timestamps, flags, deletes, new rows.
std::vector<std::vector<RecordChange>> random_changes(const LiveSnapshot& s, unsigned seed, std::size_t count) {
  std::mt19937 random(seed);
  auto pick = [&](const std::string& entity) {
    const auto* table = s.data().table(entity);
    return id_at(s, entity, std::uniform_int_distribution<std::size_t>(0, table->size() - 1)(random));
  };
  const std::vector<std::string> tiers = {"strategic", "key", "growth", "standard"};
  const std::vector<std::string> topics = {"discount", "sla", "pricing", "renewal", "support"};
  std::vector<std::vector<RecordChange>> sets;
  for (std::size_t i = 0; i < count; ++i) {
    std::vector<RecordChange> set;
    switch (random() % 8) {
      case 0: set.push_back(upsert("accounts", pick("accounts"), {{"owner_id", pick("users")}})); break;
      case 1: set.push_back(upsert("accounts", pick("accounts"), {{"tier", tiers[random() % tiers.size()]}})); break;
      case 2: set.push_back(upsert("activities", pick("activities"), {{"topics", boost::json::array{topics[random() % 5].c_str(), topics[random() % 5].c_str()}}})); break;
      case 3: set.push_back(upsert("contracts", pick("contracts"), {{"service_tier", random() % 2 ? "basic" : "premium"}})); break;
      case 4: set.push_back(upsert("users", pick("users"), {{"active", random() % 2 == 0}})); break;
      case 5: set.push_back(remove("activities", pick("activities"))); break;
      case 6: set.push_back(upsert("contacts", pick("contacts"), {{"last_contacted_at", "2026-10-30T00:00:00Z"}})); break;
      default:
        set.push_back(upsert("accounts", pick("accounts"), {{"owner_id", pick("users")}}));
        set.push_back(upsert("activities", pick("activities"), {{"account_id", pick("accounts")}}));
        break;
    }
    sets.push_back(std::move(set));
  }
  return sets;
}

TEST_F(LiveExamples, RandomChangesFromAFixedSeed) {
  ASSERT_TRUE(snapshot_);
  auto sets = random_changes(*snapshot_, 8, 40);
  for (std::size_t i = 0; i < sets.size(); ++i) expect_consistent(*snapshot_, sets[i], "random set " + std::to_string(i));
}

TEST_F(LiveExamples, WithChangesLeavesTheOriginalUntouched) {
  ASSERT_TRUE(snapshot_);
  auto before = lines(snapshot_->findings());
  const std::string account = id_at(*snapshot_, "accounts", 0);
  const auto* owners = snapshot_->data().table("accounts")->column("owner_id");
  model::StrId owner_before = owners->strings[0];
  std::size_t activities = snapshot_->data().table("activities")->size();
  ChangeEffect effect;
  auto next = snapshot_->with_changes({upsert("accounts", account, {{"owner_id", "usr-000001"}}),
                                       upsert("accounts", "acc-new-2", {{"name", "Other"}}),
                                       remove("activities", id_at(*snapshot_, "activities", 0))},
                                      effect);
  ASSERT_TRUE(next);
  EXPECT_EQ(lines(snapshot_->findings()), before);
  EXPECT_EQ(owners->strings[0], owner_before);
  EXPECT_EQ(snapshot_->data().table("activities")->size(), activities);
  EXPECT_EQ(next->data().table("activities")->size(), activities - 1);
  EXPECT_EQ(next->data().table("accounts")->size(), snapshot_->data().table("accounts")->size() + 1);
  EXPECT_EQ(next->data().strings.view(next->data().table("accounts")->column("owner_id")->strings[0]), "usr-000001");
}

TEST_F(LiveExamples, ValidationNamesTheChangeAndField) {
  ASSERT_TRUE(snapshot_);
  ChangeEffect effect = snapshot_->what_if({
      upsert("acounts", "x", {}),
      upsert("accounts", id_at(*snapshot_, "accounts", 0), {{"ownr_id", "usr-000001"}}),
      upsert("accounts", id_at(*snapshot_, "accounts", 0), {{"annual_revenue", "lots"}}),
      upsert("accounts", id_at(*snapshot_, "accounts", 0), {{"tier", "gold"}}),
      remove("activities", "act-none"),
      upsert("accounts", "", {}),
      upsert("activities", id_at(*snapshot_, "activities", 0), {{"topics", boost::json::array{"a", 1}}}),
  });
  EXPECT_FALSE(effect.ok());
  EXPECT_TRUE(effect.created.empty());
  std::vector<std::string> got;
  for (const auto& d : effect.problems) {
    got.push_back(std::string(diag::severity_name(d.severity)) + "[" + std::string(diag::code_id(d.code)) + "] " + d.where +
                  ": " + d.message + (d.helps.empty() ? "" : " (" + d.helps.front() + ")"));
  }
  std::vector<std::string> expected = {
      "error[LIVE8001] changes[0]: change 0: unknown entity `acounts` (did you mean `accounts`?)",
      "error[LIVE8002] changes[1].fields.ownr_id: change 1: accounts has no field `ownr_id` (did you mean `owner_id`?)",
      "error[LIVE8003] changes[2].fields.annual_revenue: change 2: accounts.annual_revenue: expected a number, got \"lots\"",
      "warning[LIVE8004] changes[3].fields.tier: change 3: accounts.tier: \"gold\" is not one of strategic, key, growth, standard",
      "error[LIVE8005] changes[4]: change 4: activities has no record `act-none` to delete",
      "error[LIVE8006] changes[5]: change 5: a change to accounts needs the record's id",
      "error[LIVE8003] changes[6].fields.topics: change 6: activities.topics: expected a list of strings, got a list containing 1",
  };
  EXPECT_EQ(got, expected);
  ChangeEffect applied;
  EXPECT_EQ(snapshot_->with_changes({remove("activities", "act-none")}, applied), nullptr);
  EXPECT_FALSE(applied.ok());
  // A warning alone applies.
  ChangeEffect warned = snapshot_->what_if({upsert("accounts", id_at(*snapshot_, "accounts", 0), {{"tier", "gold"}})});
  EXPECT_TRUE(warned.ok());
  ASSERT_EQ(warned.problems.size(), 1u);
}

TEST_F(LiveExamples, FieldsNoRuleReadsEvaluateNothing) {
  ASSERT_TRUE(snapshot_);
  ChangeEffect effect =
      snapshot_->what_if({upsert("accounts", id_at(*snapshot_, "accounts", 0), {{"country", "FR"}, {"created_at", "2020-01-01T00:00:00Z"}})});
  EXPECT_TRUE(effect.ok());
  EXPECT_EQ(effect.subjects_evaluated, 0u);
}

TEST_F(LiveExamples, ConcurrentWhatIfsAgree) {
  ASSERT_TRUE(snapshot_);
  auto sets = random_changes(*snapshot_, 11, 12);
  std::vector<std::set<std::string>> expected;
  for (const auto& set : sets) expected.push_back(lines(snapshot_->what_if(set).created));
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (std::size_t i = 0; i < sets.size(); ++i) {
          std::size_t k = (i + static_cast<std::size_t>(t)) % sets.size();
          if (lines(snapshot_->what_if(sets[k]).created) != expected[k]) ++mismatches;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// ---- Dependency analysis, one kind of dependency at a time ----------------------------------

const dsl::CompiledRule& rule_named(const LiveSnapshot& s, const std::string& id) {
  for (const auto& configured : s.packs()) {
    for (const auto& rule : configured.pack.rules) {
      if (rule.id == id) return rule;
    }
  }
  throw std::runtime_error("no rule " + id);
}

engine::live::Reach reach_of(const LiveSnapshot& s, const std::string& rule, const std::string& entity,
                             std::vector<std::string> fields, bool whole_row = false) {
  std::vector<const engine::live::Path*> paths;
  return engine::live::reach(engine::live::analyse(rule_named(s, rule)), entity, fields, whole_row, paths);
}

TEST_F(LiveExamples, DependenciesOfEachKind) {
  ASSERT_TRUE(snapshot_);
  using engine::live::Reach;
  const auto& s = *snapshot_;
  // The changed row is the subject.
  EXPECT_EQ(reach_of(s, "unowned_or_inactive_owner", "accounts", {"owner_id"}), Reach::Subjects);
  // Rows linking to the subject (`accounts where owner_id = manager.id`).
  EXPECT_EQ(reach_of(s, "dunbar_portfolio_limit", "accounts", {"owner_id"}), Reach::Subjects);
  // A link followed from the subject (`survey.account.owner.name`).
  EXPECT_EQ(reach_of(s, "negative_emotions_followup", "accounts", {"owner_id"}), Reach::Subjects);
  // A key shared with the subject (`opportunities where account_id = contract.account_id`).
  EXPECT_EQ(reach_of(s, "renewal_preparation", "opportunities", {"stage"}), Reach::Subjects);
  // A ranking over every account: all subjects.
  EXPECT_EQ(reach_of(s, "neglected_long_tail", "accounts", {"annual_revenue"}), Reach::All);
  // A let over a whole table shared by every subject.
  EXPECT_EQ(reach_of(s, "design_gap_promised_features", "capabilities", {"status"}), Reach::All);
  // Distinct-value subjects (service units).
  EXPECT_EQ(reach_of(s, "service_unit_capacity_band", "cases", {"effort_hours"}), Reach::All);
  // Fields no rule reads.
  EXPECT_EQ(reach_of(s, "dunbar_portfolio_limit", "accounts", {"country"}), Reach::None);
  EXPECT_EQ(reach_of(s, "dunbar_portfolio_limit", "activities", {"topics"}), Reach::None);
  // A new row joins the sets over its entity.
  EXPECT_EQ(reach_of(s, "dunbar_portfolio_limit", "accounts", {}, true), Reach::Subjects);
}

// ---- A generated book --------------------------------------------------------------------------

TEST(LiveGenerated, RandomChangesOverAGeneratedBook) {
  fs::path dir = fs::temp_directory_path() / ("rapport-live-" + std::to_string(::getpid()));
  const std::string gen = std::string(RAPPORT_SHARED_DIR) + "/datagen/gen_crm.py";
  std::string command = "python3 '" + gen + "' --out '" + dir.string() + "' --accounts 2000 --seed 7 --jobs 1 --quiet > /dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto snapshot = snapshot_of(dir.string());
  ASSERT_TRUE(snapshot);
  auto sets = random_changes(*snapshot, 7, 24);
  for (std::size_t i = 0; i < sets.size(); ++i) expect_consistent(*snapshot, sets[i], "generated set " + std::to_string(i));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rapport
