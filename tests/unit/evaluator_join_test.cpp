// The evaluator's shortcuts for sets shared by every subject (equality joins answered from an
// index, engine/join_index.hpp, and filters that read nothing of the subject computed once)
// against the scan they replace: every rule here is evaluated with
// EvalOptions::shared_set_shortcuts on and off and must give the same findings, evidence
// included. The data has missing and dangling keys, keys shared by many rows, filters with more
// conjuncts than the key, correlation nested several frames deep and empty sets.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <fstream>
#include <iomanip>
#include <unistd.h>

#include "cli/pipeline.hpp"
#include "engine/join_index.hpp"
#include "engine/vector.hpp"
#include "model/time.hpp"

namespace rapport {
namespace {

namespace fs = std::filesystem;

// ---- KeyIndex ----------------------------------------------------------------------------------

std::vector<std::int32_t> rows_of(const engine::KeyIndex& index, model::StrId key) {
  auto rows = index.rows_of(key);
  return {rows.begin(), rows.end()};
}

TEST(KeyIndex, GroupsRowsByKeyInTheirOrderAndLeavesOutMissingKeys) {
  const model::StrId m = model::kMissingStr;
  const std::vector<model::StrId> keys = {7, 3, m, 7, 3, 9, m, 7};
  engine::KeyIndex whole(keys);
  EXPECT_EQ(rows_of(whole, 7), (std::vector<std::int32_t>{0, 3, 7}));
  EXPECT_EQ(rows_of(whole, 3), (std::vector<std::int32_t>{1, 4}));
  EXPECT_EQ(rows_of(whole, 9), (std::vector<std::int32_t>{5}));
  EXPECT_TRUE(rows_of(whole, 4).empty());
  EXPECT_TRUE(rows_of(whole, m).empty());  // a missing key equals nothing, not even missing keys

  // A subset of the rows, given out of table order (and with a repeated row): the index keeps
  // the order and the repetitions it was given.
  const std::vector<std::int32_t> subset = {7, 2, 5, 0, 7};
  engine::KeyIndex part(subset, keys);
  EXPECT_EQ(rows_of(part, 7), (std::vector<std::int32_t>{7, 0, 7}));
  EXPECT_EQ(rows_of(part, 9), (std::vector<std::int32_t>{5}));
  EXPECT_TRUE(rows_of(part, 3).empty());
}

// Keys spread far wider than the rows (ids of several tables interned apart) are numbered by a
// hash map; keys within a narrow range by their offset in it. Both answer the same.
TEST(KeyIndex, SparseAndDenseKeysAnswerAlike) {
  const model::StrId m = model::kMissingStr;
  const std::vector<model::StrId> dense = {100, 101, m, 100, 104, 101};
  const std::vector<model::StrId> sparse = {100, 5000000, m, 100, 4000000000u, 5000000};
  engine::KeyIndex near(dense), far(sparse);
  EXPECT_EQ(rows_of(near, 100), (std::vector<std::int32_t>{0, 3}));
  EXPECT_EQ(rows_of(near, 101), (std::vector<std::int32_t>{1, 5}));
  EXPECT_EQ(rows_of(near, 104), (std::vector<std::int32_t>{4}));
  for (model::StrId outside : {0u, 99u, 102u, 105u, 4000000000u}) EXPECT_TRUE(rows_of(near, outside).empty()) << outside;
  EXPECT_EQ(rows_of(far, 100), (std::vector<std::int32_t>{0, 3}));
  EXPECT_EQ(rows_of(far, 5000000), (std::vector<std::int32_t>{1, 5}));
  EXPECT_EQ(rows_of(far, 4000000000u), (std::vector<std::int32_t>{4}));
  for (model::StrId outside : {0u, 99u, 101u, 4999999u}) EXPECT_TRUE(rows_of(far, outside).empty()) << outside;
  const std::vector<model::StrId> none = {m, m};
  EXPECT_TRUE(rows_of(engine::KeyIndex(none), 0).empty());
}

TEST(KeyIndex, EmptyInputAnswersNothing) {
  engine::KeyIndex none;
  EXPECT_TRUE(none.rows_of(0).empty());
  engine::KeyIndex empty(std::span<const std::int32_t>{}, std::span<const model::StrId>{});
  EXPECT_TRUE(empty.rows_of(0).empty());
}

// ---- Indexed joins against the scan, through the evaluator ----------------------------------

/// Prepares the pack at `rules` and loads `data` into `pipeline` (its exit_code says how it went).
void load_pipeline(const fs::path& rules, const fs::path& data, cli::Pipeline& pipeline) {
  cli::PipelineOptions options;
  options.pack_paths = {rules.string()};
  options.data_dir = data.string();
  cli::prepare(options, pipeline);
  if (pipeline.exit_code == cli::kExitClean) cli::load_data(options, pipeline);
}

constexpr const char* kUsers = R"({"id":"u1","name":"Ann","role":"support","team":"A","manager_id":null,"active":true}
{"id":"u2","name":"Ben","role":"support","team":"A","manager_id":"u1","active":true}
{"id":"u3","name":"Cas","role":"engineer","team":"B","manager_id":"u1","active":true}
{"id":"u4","name":"Dee","role":"support","team":null,"manager_id":"u3","active":true}
{"id":"u5","name":"Eve","role":"support","team":"A","manager_id":"u9","active":false}
{"id":"u6","name":"Fay","role":"engineer","team":"B","manager_id":"u3","active":true}
{"id":"u7","name":"Gus","role":"support","team":"C","manager_id":null,"active":true}
{"id":"u8","name":"Hal","role":"support","team":"B","manager_id":"u3","active":true}
)";

// u1: three rated cases, u2: two, u3: two, u6: one, u8: none rated; u7 none at all. Cases with
// no assignee and with an assignee who is nobody (u404), and cases of the inactive u5.
constexpr const char* kCases = R"({"id":"c01","assignee_id":"u1","csat":5,"resolved_at":"2026-10-01T00:00:00Z"}
{"id":"c02","assignee_id":"u1","csat":4,"resolved_at":"2026-10-02T00:00:00Z"}
{"id":"c03","assignee_id":"u1","csat":null,"resolved_at":null}
{"id":"c04","assignee_id":"u2","csat":1,"resolved_at":"2026-10-03T00:00:00Z"}
{"id":"c05","assignee_id":"u2","csat":2,"resolved_at":"2026-10-04T00:00:00Z"}
{"id":"c06","assignee_id":"u3","csat":3,"resolved_at":null}
{"id":"c07","assignee_id":"u3","csat":3,"resolved_at":"2026-10-05T00:00:00Z"}
{"id":"c08","assignee_id":"u6","csat":5,"resolved_at":"2026-10-06T00:00:00Z"}
{"id":"c09","assignee_id":null,"csat":4,"resolved_at":null}
{"id":"c10","assignee_id":null,"csat":1,"resolved_at":"2026-10-07T00:00:00Z"}
{"id":"c11","assignee_id":"u404","csat":2,"resolved_at":null}
{"id":"c12","assignee_id":"u404","csat":5,"resolved_at":"2026-10-08T00:00:00Z"}
{"id":"c13","assignee_id":"u5","csat":5,"resolved_at":"2026-10-09T00:00:00Z"}
{"id":"c14","assignee_id":"u5","csat":5,"resolved_at":null}
{"id":"c15","assignee_id":"u1","csat":2,"resolved_at":null}
{"id":"c16","assignee_id":"u8","csat":null,"resolved_at":"2026-10-10T00:00:00Z"}
)";

constexpr const char* kRules = R"(pack joins
  version "0.1.0"

param min_rated : count = 2 "Fewest rated cases a person needs"

# Value subjects; the sets are shared by every unit (they read no subject).
rule unit_quality
  title    "Quality per unit"
  severity medium
  for each unit in distinct(team of users where active)
  let staff        = users where active
  let members      = staff where team = unit
  let rated_cases  = cases where csat is not missing
  let rated_people = members as p where count(rated_cases where assignee_id = p.id) >= min_rated
  let averages     = avg(csat of rated_cases where assignee_id = q.id) of rated_people as q
  let lowest       = name of rated_people as p where avg(csat of rated_cases where assignee_id = p.id) = min(averages)
  let good         = count(rated_cases as c where c.assignee_id = p.id and c.csat >= 4 and c.resolved_at is not missing) of members as p
  let flipped      = count(rated_cases as c where p.id = c.assignee_id) of members as p
  let either       = count(rated_cases as c where c.assignee_id = p.id or c.csat = 5) of members as p
  let nobody       = count(rated_cases as c where c.assignee_id = p.id and c.csat > 99) of members as p
  # Three frames deep: for each member p, the members m with a rated case above p's average.
  let above        = count(members as m where count(rated_cases as c where c.assignee_id = m.id and c.csat > avg(csat of rated_cases as d where d.assignee_id = p.id)) > 0) of members as p
  # Filters of a shared set that read nothing of the unit: one set for every unit.
  let happy        = rated_cases where csat >= 4 and resolved_at is not missing
  let rated_happy  = count(rated_cases as c where c.csat >= min_rated) of members as p
  let cut          = avg(csat of rated_cases)
  let above_cut    = rated_cases where csat > cut
  when count(members) >= 1
  message "{unit}: {count(rated_people)} rated people, lowest {lowest}, averages {averages}"
end

# Row subjects; keys that are missing (u4's team) or name nobody (u404, u9).
rule per_person
  title    "Per person"
  severity low
  for each u in users
  let staff      = users where active
  let open_cases = cases where resolved_at is missing
  let nothing    = cases where csat > 100
  let mates      = staff as s where s.team = u.team and s.id != u.id
  let mine       = open_cases as c where c.assignee_id = u.id
  let reports    = staff as s where s.manager_id = u.id
  let manager    = name of staff as s where s.id = u.manager_id
  let none       = nothing as c where c.assignee_id = u.id
  let helpers    = count(staff as s where s.id = c.assignee_id) of open_cases as c
  let open_fives = open_cases where csat = 5
  let mate_fives = count(open_cases as c where c.csat >= 4) of mates as m
  let my_rated   = mine where csat is not missing
  when count(mates) + count(mine) + count(reports) >= 0
  message "{u.name}: {count(mates)} mates, {count(mine)} open, {count(reports)} reports, manager {manager}"
end
)";

class IndexedJoins : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rapport_join_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "data");
    write(dir_ / "joins.rules", kRules);
    write(dir_ / "data" / "users.jsonl", kUsers);
    write(dir_ / "data" / "cases.jsonl", kCases);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void write(const fs::path& path, const char* text) { std::ofstream(path) << text; }

  /// Every finding with its message and evidence, and each rule's counts.
  std::string run(bool shortcuts) {
    cli::Pipeline pipeline;
    load_pipeline(dir_ / "joins.rules", dir_ / "data", pipeline);
    EXPECT_EQ(pipeline.exit_code, cli::kExitClean);
    if (pipeline.exit_code != cli::kExitClean) return {};
    engine::EvalOptions eval;
    eval.as_of = *model::parse_date("2026-11-01");
    eval.shared_set_shortcuts = shortcuts;
    std::string out;
    for (const auto& f : cli::evaluate_all(pipeline, eval).findings) {
      out += f.rule + " " + f.subject_id + ": " + f.message + "\n";
      for (const auto e : f.evidence) out += "  " + std::string(e.name) + " = " + std::string(e.json) + "\n";
    }
    return out;
  }

  fs::path dir_;
};

TEST_F(IndexedJoins, GiveTheFindingsOfTheScan) {
  std::string indexed = run(true);
  std::string scanned = run(false);
  EXPECT_EQ(indexed, scanned);
  // The expectations below are worked out by hand, so the comparison is not between two
  // equally wrong answers.
  for (const char* expected : {
           "unit_quality A: A: 2 rated people, lowest Ben, averages 3.67 and 1.5\n",
           "  good = [2,0]\n  flipped = [3,2]\n  either = [7,7]\n  nobody = [0,0]\n  above = [1,2]\n",
           "unit_quality B: B: 1 rated people, lowest Cas, averages 3\n",
           "  good = [0,1,0]\n  flipped = [2,1,0]\n  either = [7,5,5]\n  nobody = [0,0,0]\n  above = [1,0,0]\n",
           "unit_quality C: C: 0 rated people, lowest none, averages none\n",
           "per_person u1: Ann: 1 mates, 2 open, 2 reports, manager none\n",
           "per_person u3: Cas: 2 mates, 1 open, 3 reports, manager Ann\n",
           "per_person u4: Dee: 0 mates, 0 open, 0 reports, manager Cas\n",
           "per_person u5: Eve: 2 mates, 1 open, 0 reports, manager none\n",
           "  helpers = [1,1,0,0,0,1]\n  open_fives = {\"count\":1,\"ids\":[\"c14\"]}\n",
           "  happy = {\"count\":5,\"ids\":[\"c01\",\"c02\",\"c08\",\"c12\",\"c13\"]}\n",
       }) {
    EXPECT_NE(indexed.find(expected), std::string::npos) << expected << "\nnot in:\n" << indexed;
  }
}

// ---- Ranks over many lanes ----------------------------------------------------------------------

// rank() and percentile_rank() of every account's revenue among all accounts' revenues: past
// kMergeRanksLanes lanes the evaluator merges the sorted lanes with the sorted list instead of a
// binary search per lane. Ties, missing revenues and both sides of the threshold must give what
// counting by hand gives.
TEST(EvaluatorRanks, ManyLanesRankAsCountingDoes) {
  const fs::path dir = fs::temp_directory_path() / ("rapport_rank_test_" + std::to_string(::getpid()));
  fs::create_directories(dir / "data");
  std::ofstream(dir / "ranks.rules") << R"(pack ranks
  version "0.1.0"

rule ranked
  title    "Ranked"
  severity info
  for each account in accounts
  let share    = percentile_rank(account.annual_revenue, annual_revenue of accounts)
  let position = rank(account.annual_revenue, annual_revenue of accounts)
  when share >= 0
  message "{position} {share}"
end
)";
  for (const std::size_t count : {std::size_t{1000}, std::size_t{40000}}) {
    std::vector<double> revenue(count);
    {
      std::ofstream accounts(dir / "data" / "accounts.jsonl");
      std::uint64_t state = 12345;
      for (std::size_t i = 0; i < count; ++i) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        const auto draw = static_cast<int>((state >> 33) % 5000);  // many ties
        // Negative, zero and negative zero (equal to zero), fractions (the lists are radix sorted
        // on the doubles' bits).
        revenue[i] = draw % 97 == 0 ? std::nan("") : draw % 89 == 0 ? -0.0 : (draw - 1000) * 10.25;
        accounts << std::setprecision(17) << "{\"id\":\"a" << i << "\",\"name\":\"A\",\"annual_revenue\":";
        if (std::isnan(revenue[i])) {
          accounts << "null}\n";
        } else {
          accounts << revenue[i] << "}\n";
        }
      }
    }
    std::vector<double> sorted;
    for (double r : revenue) {
      if (!std::isnan(r)) sorted.push_back(r);
    }
    std::sort(sorted.begin(), sorted.end());
    std::map<std::string, std::string> expected;
    for (std::size_t i = 0; i < count; ++i) {
      if (std::isnan(revenue[i])) continue;
      const auto at_or_below = static_cast<std::size_t>(std::upper_bound(sorted.begin(), sorted.end(), revenue[i]) - sorted.begin());
      expected["a" + std::to_string(i)] = std::to_string(sorted.size() - at_or_below + 1) + " " +
                                          std::to_string(static_cast<double>(at_or_below) / static_cast<double>(sorted.size()));
    }

    cli::Pipeline pipeline;
    load_pipeline(dir / "ranks.rules", dir / "data", pipeline);
    ASSERT_EQ(pipeline.exit_code, cli::kExitClean);
    engine::EvalOptions eval;
    eval.as_of = *model::parse_date("2026-11-01");
    const auto result = cli::evaluate_all(pipeline, eval);
    ASSERT_EQ(result.findings.size(), expected.size()) << count;
    for (const auto& f : result.findings) {
      const auto it = expected.find(f.subject_id);
      ASSERT_NE(it, expected.end()) << f.subject_id;
      // The rank as the message writes it; the share from the evidence, as the evaluator kept it.
      const std::string message = f.message.str();
      const auto space = message.find(' ');
      ASSERT_NE(space, std::string::npos) << message;
      const std::string& want = it->second;
      const auto want_space = want.find(' ');
      EXPECT_EQ(message.substr(0, space), want.substr(0, want_space)) << f.subject_id;
      double share = -1;
      for (const auto e : f.evidence) {
        if (e.name == "share") share = std::stod(std::string(e.json));
      }
      EXPECT_NEAR(share, std::stod(want.substr(want_space + 1)), 1e-6) << f.subject_id;
    }
  }
  fs::remove_all(dir);
}

// ---- Intersections -----------------------------------------------------------------------------

// `L except (L except M)` is evaluated in one pass (the items of L that are in M). The same
// expression with the inner L spelled through another let is not recognized as one, so it is
// evaluated as the two passes it says: both must agree on every activity, for a list field read
// from its column, for lets, for lists of numbers with missing items, and for missing lists.
TEST(EvaluatorLists, IntersectionsGiveWhatTwoExceptsGive) {
  const fs::path dir = fs::temp_directory_path() / ("rapport_intersect_test_" + std::to_string(::getpid()));
  fs::create_directories(dir / "data");
  std::ofstream(dir / "lists.rules") << R"(pack lists
  version "0.1.0"

param wanted : list of text = ["sla", "discount", "absent"]

rule lists
  title    "Intersections"
  severity info
  for each a in activities
  let t     = a.topics
  let u     = a.topics
  let i1    = a.topics except (a.topics except wanted)
  let j1    = a.topics except (u except wanted)
  let i2    = t except (t except wanted)
  let j2    = t except (u except wanted)
  let i3    = t except (t except a.topics)
  let j3    = t except (u except a.topics)
  let durs  = duration_minutes of activities as b where b.account_id = a.account_id
  let durs2 = duration_minutes of activities as b where b.account_id = a.account_id
  let i4    = durs except (durs except [30, 60])
  let j4    = durs except (durs2 except [30, 60])
  let i5    = t except (t except [])
  when true
  message "{i1}|{j1}|{i2}|{j2}|{i3}|{j3}|{count(i4)}:{i4}|{count(j4)}:{j4}|{i5}|{i1 is missing}"
end
)";
  std::ofstream(dir / "data" / "activities.jsonl")
      << R"({"id":"x1","account_id":"a1","topics":["sla","qbr","discount","sla"],"duration_minutes":30}
{"id":"x2","account_id":"a1","topics":[],"duration_minutes":null}
{"id":"x3","account_id":"a1","topics":null,"duration_minutes":60}
{"id":"x4","account_id":"a2","duration_minutes":45}
{"id":"x5","account_id":"a2","topics":["qbr","renewal"],"duration_minutes":30}
{"id":"x6","account_id":"a2","topics":["discount"],"duration_minutes":null}
)";
  cli::Pipeline pipeline;
  load_pipeline(dir / "lists.rules", dir / "data", pipeline);
  ASSERT_EQ(pipeline.exit_code, cli::kExitClean);
  engine::EvalOptions eval;
  eval.as_of = *model::parse_date("2026-11-01");
  std::map<std::string, std::string> messages;
  for (const auto& f : cli::evaluate_all(pipeline, eval).findings) messages[f.subject_id] = f.message.str();
  ASSERT_EQ(messages.size(), 6u);
  for (const auto& [id, message] : messages) {
    std::vector<std::string> parts;
    std::size_t from = 0;
    for (std::size_t bar; (bar = message.find('|', from)) != std::string::npos; from = bar + 1) {
      parts.push_back(message.substr(from, bar - from));
    }
    parts.push_back(message.substr(from));
    ASSERT_EQ(parts.size(), 10u) << message;
    EXPECT_EQ(parts[0], parts[1]) << id << ": " << message;
    EXPECT_EQ(parts[2], parts[3]) << id << ": " << message;
    EXPECT_EQ(parts[4], parts[5]) << id << ": " << message;
    EXPECT_EQ(parts[6], parts[7]) << id << ": " << message;
    EXPECT_EQ(parts[0], parts[2]) << id << ": " << message;  // the field and its let alike
  }
  // Worked out by hand: order and repeats of L are kept, missing lists stay missing, and a
  // missing duration in L is kept (it equals nothing, so neither `except` removes it).
  EXPECT_EQ(messages["x1"].substr(0, messages["x1"].find('|')), "sla, discount and sla") << messages["x1"];
  EXPECT_NE(messages["x1"].find("|2:30, missing and 60|"), std::string::npos) << messages["x1"];
  EXPECT_NE(messages["x2"].find("|false"), std::string::npos) << messages["x2"];
  EXPECT_NE(messages["x3"].find("|true"), std::string::npos) << messages["x3"];
  EXPECT_NE(messages["x4"].find("|true"), std::string::npos) << messages["x4"];
  EXPECT_EQ(messages["x6"].substr(0, messages["x6"].find('|')), "discount") << messages["x6"];
  fs::remove_all(dir);
}

// The evaluator's lane columns leave what resize() adds for the operator to write, and construct
// every value they are given as given (a fill, an assignment, an insertion, a copy).
TEST(EvaluatorLanes, GivenValuesAreKeptAndGrowingKeepsWhatWasWritten) {
  engine::Lanes<double> numbers(3, 2.5);
  EXPECT_EQ(numbers, (engine::Lanes<double>{2.5, 2.5, 2.5}));
  numbers.resize(5);  // two more, for the caller to write
  numbers[3] = -1;
  numbers[4] = 7;
  EXPECT_EQ(numbers, (engine::Lanes<double>{2.5, 2.5, 2.5, -1, 7}));
  numbers.resize(7, std::nan(""));
  EXPECT_TRUE(std::isnan(numbers[5]) && std::isnan(numbers[6]));
  numbers.assign(2, 0.0);
  EXPECT_EQ(numbers, (engine::Lanes<double>{0.0, 0.0}));
  const std::vector<std::int32_t> rows{4, 8, 15};
  engine::Lanes<std::int32_t> lanes;
  lanes.assign(rows.begin(), rows.end());
  lanes.insert(lanes.end(), rows.begin(), rows.end());
  lanes.push_back(16);
  lanes.emplace_back(23);
  EXPECT_EQ(lanes, (engine::Lanes<std::int32_t>{4, 8, 15, 4, 8, 15, 16, 23}));
  engine::Lanes<std::int32_t> copy = lanes;
  EXPECT_EQ(copy, lanes);
  engine::Lanes<std::uint32_t> offsets;
  offsets.resize(4);
  for (std::uint32_t i = 0; i < offsets.size(); ++i) offsets[i] = i * 3;  // as operators write them
  EXPECT_EQ(offsets, (engine::Lanes<std::uint32_t>{0, 3, 6, 9}));
}

}  // namespace
}  // namespace rapport
