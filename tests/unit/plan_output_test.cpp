// The plan reports over more moves than one thread renders (a batch each on two threads): every
// move is written once, in the plan's order, in each format.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>
#include <string>

#include "engine/planner.hpp"

namespace rapport::engine {
namespace {

namespace json = boost::json;

constexpr std::size_t kMoves = 40'000;  // over two batches of 8,192 on each thread

PlanResult many_moves() {
  PlanResult r;
  r.pack = "portfolio";
  r.pack_version = "1.0.0";
  r.plan = "rebalance_portfolios";
  r.title = "Segment accounts";
  r.entity = "accounts";
  r.target_entity = "users";
  r.field = "owner_id";
  r.limits = {"count(portfolio) <= 150"};
  r.records = kMoves;
  r.reason_texts = {"least loaded target with room"};
  for (std::size_t i = 0; i < kMoves; ++i) {
    PlanMove m;
    m.id = "mv-" + std::to_string(i);
    m.record = "acc-" + std::to_string(i);
    m.record_name = "Account " + std::to_string(i);
    if (i % 3) {
      m.from = "usr-" + std::to_string(i % 7);
      m.from_name = "From " + std::to_string(i % 7);
    }
    m.to = "usr-" + std::to_string(i % 11);
    m.to_name = "To " + std::to_string(i % 11);
    m.to_overflow = i % 5 == 0;
    r.reason_texts.push_back("reason " + std::to_string(i));
    m.reasons = {static_cast<std::uint32_t>(r.reason_texts.size() - 1), 0};
    m.message = "Move " + std::to_string(i) + ".";
    m.remedy = "Call " + std::to_string(i) + ".";
    r.moves.push_back(std::move(m));
  }
  return r;
}

std::string render(const PlanResult& r, const std::string& format) {
  RunInfo info;
  info.rapport_version = "0.0.0";
  info.as_of = "2026-11-01T00:00:00Z";
  std::string out;
  auto write = [&out](std::string_view piece) { out += piece; };
  if (format == "json") render_plan_json(r, info, write);
  else if (format == "csv") render_plan_csv(r, write);
  else render_plan_text(r, info, false, write);
  return out;
}

TEST(PlanReport, JsonHasEveryMoveOnceInOrder) {
  const PlanResult r = many_moves();
  const json::object plan = json::parse(render(r, "json")).as_object();
  const json::array& moves = plan.at("moves").as_array();
  ASSERT_EQ(moves.size(), kMoves);
  for (std::size_t i = 0; i < kMoves; ++i) {
    const json::object& m = moves[i].as_object();
    ASSERT_EQ(m.at("id"), json::value(r.moves[i].id)) << "move " << i;
    ASSERT_EQ(m.at("record").at("name"), json::value(r.moves[i].record_name)) << "move " << i;
    ASSERT_EQ(m.at("from").is_null(), r.moves[i].from.empty()) << "move " << i;
    ASSERT_EQ(m.at("overflow").as_bool(), r.moves[i].to_overflow) << "move " << i;
    ASSERT_EQ(m.at("reasons"), json::array({json::value("reason " + std::to_string(i)),
                                           json::value("least loaded target with room")}))
        << "move " << i;
    ASSERT_EQ(m.at("message"), json::value(r.moves[i].message)) << "move " << i;
  }
  EXPECT_EQ(plan.at("summary").at("moves").as_int64(), static_cast<std::int64_t>(kMoves));
}

TEST(PlanReport, CsvHasARowPerMoveInOrder) {
  const PlanResult r = many_moves();
  std::istringstream rows(render(r, "csv"));
  std::string row;
  ASSERT_TRUE(std::getline(rows, row));
  EXPECT_EQ(row,
            "move_id,record_id,record_name,from_id,from_name,to_id,to_name,overflow,reasons,message,remedy");
  for (std::size_t i = 0; i < kMoves; ++i) {
    ASSERT_TRUE(std::getline(rows, row)) << "row " << i;
    const PlanMove& m = r.moves[i];
    const std::string overflow = m.to_overflow ? "true" : "false";
    ASSERT_EQ(row, m.id + "," + m.record + "," + m.record_name + "," + m.from + "," + m.from_name + "," +
                       m.to + "," + m.to_name + "," + overflow + ",reason " + std::to_string(i) + "; least loaded target with room," +
                       m.message + "," + m.remedy)
        << "row " << i;
  }
  EXPECT_FALSE(std::getline(rows, row));
}

TEST(PlanReport, TextListsEveryMoveInOrder) {
  const PlanResult r = many_moves();
  const std::string text = render(r, "text");
  std::size_t at = 0;
  for (std::size_t i = 0; i < kMoves; ++i) {
    const PlanMove& m = r.moves[i];
    const std::string line = "  " + m.record + "  " + m.record_name + ": ";
    const std::size_t found = text.find(line, at);
    ASSERT_NE(found, std::string::npos) << "move " << i << " is missing or out of order";
    at = found + line.size();
    const std::string why = "      why: reason " + std::to_string(i) + "; least loaded target with room\n";
    ASSERT_EQ(text.compare(text.find('\n', at) + 1, why.size(), why), 0) << "move " << i;
  }
}

}  // namespace
}  // namespace rapport::engine
