// The canonical model, calendar arithmetic and the string pool.

#include <gtest/gtest.h>

#include "model/schema.hpp"
#include "model/string_pool.hpp"
#include "model/time.hpp"

namespace rapport::model {
namespace {

TEST(ModelSchema, CanonicalModelMatchesTheContract) {
  const Schema& schema = Schema::canonical();
  EXPECT_EQ(schema.entities().size(), 9u);
  const EntityDef* accounts = schema.entity("accounts");
  ASSERT_NE(accounts, nullptr);
  EXPECT_EQ(accounts->singular, "account");
  const FieldDef* owner = accounts->field("owner_id");
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(owner->type, FieldType::Ref);
  EXPECT_EQ(owner->ref_entity, "users");
  EXPECT_EQ(accounts->link("owner"), owner);
  EXPECT_FALSE(accounts->field("tier")->ordered);
  EXPECT_TRUE(accounts->field("criticality")->ordered);
  EXPECT_EQ(schema.entity("opportunities")->singular, "opportunity");
  EXPECT_EQ(schema.entity("cases")->singular, "case");
  EXPECT_EQ(schema.entity("activities")->field("topics")->type, FieldType::TextList);
  EXPECT_EQ(*schema.entity("contracts")->field("service_tier")->enum_rank("premium"), 2);
}

TEST(ModelSchema, DiscoveredLinksResolveByEntityName) {
  Schema schema = Schema::canonical();
  schema.add_entity("teams");
  FieldDef team_id;
  team_id.name = "team_id";
  schema.add_field("users", team_id);
  schema.resolve_discovered_links();
  const FieldDef* field = schema.entity("users")->field("team_id");
  EXPECT_EQ(field->type, FieldType::Ref);
  EXPECT_EQ(field->ref_entity, "teams");
  EXPECT_FALSE(field->declared);
}

TEST(ModelTime, ParsesDatesAndUtcTimestamps) {
  EXPECT_EQ(*parse_date("1970-01-01"), 0);
  EXPECT_EQ(*parse_date("2026-03-01"), 20513 * 86400.0);
  EXPECT_FALSE(parse_date("2026-02-30"));
  EXPECT_TRUE(parse_date("2024-02-29"));
  EXPECT_FALSE(parse_date("2026-3-01"));
  EXPECT_EQ(*parse_timestamp("2026-03-01T09:30:00Z"), 20513 * 86400.0 + 9 * 3600 + 30 * 60);
  EXPECT_EQ(*parse_timestamp("2026-03-01T09:30Z"), 20513 * 86400.0 + 9 * 3600 + 30 * 60);
  EXPECT_FALSE(parse_timestamp("2026-03-01T09:30:00"));
  EXPECT_FALSE(parse_timestamp("2026-03-01T25:00:00Z"));
  EXPECT_EQ(format_timestamp(*parse_timestamp("2026-03-01T09:30:00Z")), "2026-03-01T09:30:00Z");
  EXPECT_EQ(format_date(*parse_date("1999-12-31")), "1999-12-31");
}

TEST(ModelTime, FormatsDurationsAsWritten) {
  EXPECT_EQ(format_duration(90 * 86400.0), "90d");
  EXPECT_EQ(format_duration(4 * 3600.0), "4h");
  EXPECT_EQ(format_duration(28 * 86400.0), "28d");
}

TEST(ModelStringPool, InternsOnce) {
  StringPool pool;
  StrId a = pool.intern("strategic");
  StrId b = pool.intern(std::string("strate") + "gic");
  EXPECT_EQ(a, b);
  EXPECT_EQ(pool.view(a), "strategic");
  EXPECT_EQ(pool.find("missing"), kMissingStr);
  for (int i = 0; i < 100000; ++i) pool.intern("s" + std::to_string(i));
  EXPECT_EQ(pool.view(a), "strategic");  // views stay valid as the pool grows
}

}  // namespace
}  // namespace rapport::model
