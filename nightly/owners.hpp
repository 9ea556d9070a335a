#pragma once
// Who answers for a finding: the account manager of its subject. Users are their own owners;
// rows with an `owner_id` belong to that user; rows with an `account_id` to the account's owner.
// Also the account managers' portfolios for the report's Dunbar chart.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/findings.hpp"
#include "model/table.hpp"
#include "reports/run_report.hpp"

namespace rapport::nightly {

/// The fields attribution and the portfolio chart read, per entity, as far as `schema` has them:
/// users' name, email, team, region, role and active; accounts' owner_id and tier; the owner_id
/// and account_id links of `subject_entities`.
std::map<std::string, std::set<std::string>> attribution_fields(const model::Schema& schema,
                                                                 const std::set<std::string>& subject_entities);

class Directory {
 public:
  explicit Directory(const model::Dataset& data);

  /// The id of the user who answers for `finding`, or "" when nobody does (value subjects, rows
  /// without an owner, owners that are not in the data).
  [[nodiscard]] std::string owner_of(const engine::Finding& finding) const;
  /// The user with this id as a Person (id only when the data has no such user).
  [[nodiscard]] reports::Person person(std::string_view id) const;
  /// Every active account manager (role account_manager, or every owner of an account when the
  /// data has no roles) with their account and strategic-account counts; sorted by accounts
  /// (most first), then id.
  [[nodiscard]] std::vector<reports::PortfolioBar> portfolios() const;

 private:
  [[nodiscard]] std::string text(const model::Table& table, std::string_view field, std::int32_t row) const;
  [[nodiscard]] std::int32_t link_row(const model::Table& table, std::string_view field, std::int32_t row) const;

  const model::Dataset& data_;
  const model::Table* users_;
  const model::Table* accounts_;
};

}  // namespace rapport::nightly
