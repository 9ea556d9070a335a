#include "nightly/owners.hpp"

#include <algorithm>

namespace rapport::nightly {

std::map<std::string, std::set<std::string>> attribution_fields(const model::Schema& schema,
                                                                 const std::set<std::string>& subject_entities) {
  std::map<std::string, std::set<std::string>> out;
  auto want = [&](const std::string& entity, std::initializer_list<const char*> fields) {
    const model::EntityDef* def = schema.entity(entity);
    if (def == nullptr) return;
    for (const char* field : fields) {
      if (def->field(field) != nullptr) out[entity].insert(field);
    }
  };
  want("users", {"name", "email", "team", "region", "role", "active"});
  want("accounts", {"owner_id", "tier", "name"});
  for (const auto& entity : subject_entities) want(entity, {"owner_id", "account_id"});
  return out;
}

Directory::Directory(const model::Dataset& data)
    : data_(data), users_(data.table("users")), accounts_(data.table("accounts")) {}

std::string Directory::text(const model::Table& table, std::string_view field, std::int32_t row) const {
  const model::Column* column = table.column(field);
  if (column == nullptr) return "";
  const model::TextValues values(data_, *column);
  if (row < 0 || values.size() <= static_cast<std::size_t>(row)) return "";
  model::StrId id = values[static_cast<std::size_t>(row)];
  return id == model::kMissingStr ? "" : std::string(data_.strings.view(id));
}

std::int32_t Directory::link_row(const model::Table& table, std::string_view field, std::int32_t row) const {
  const model::Column* column = table.column(field);
  if (column == nullptr || row < 0 || column->rows.size() <= static_cast<std::size_t>(row)) return model::kNoRow;
  return column->rows[static_cast<std::size_t>(row)];
}

std::string Directory::owner_of(const engine::Finding& finding) const {
  if (finding.value_subject) return "";
  const model::Table* table = data_.table(finding.subject_entity);
  if (table == nullptr) return "";
  model::StrId id = data_.strings.find(finding.subject_id);
  if (id == model::kMissingStr) return "";
  std::int32_t row = table->find_row(id);
  if (row == model::kNoRow) return "";
  if (table == users_) return finding.subject_id;
  std::int32_t owner = model::kNoRow;
  if (table->column("owner_id") != nullptr) {
    owner = link_row(*table, "owner_id", row);
  } else if (accounts_ != nullptr && table->column("account_id") != nullptr) {
    owner = link_row(*accounts_, "owner_id", link_row(*table, "account_id", row));
  }
  if (owner == model::kNoRow || users_ == nullptr) return "";
  return model::id_of(data_, *users_, static_cast<std::size_t>(owner));
}

reports::Person Directory::person(std::string_view id) const {
  reports::Person p;
  p.id = std::string(id);
  if (users_ == nullptr) return p;
  model::StrId sid = data_.strings.find(id);
  std::int32_t row = sid == model::kMissingStr ? model::kNoRow : users_->find_row(sid);
  if (row == model::kNoRow) return p;
  p.name = text(*users_, "name", row);
  p.email = text(*users_, "email", row);
  p.team = text(*users_, "team", row);
  p.region = text(*users_, "region", row);
  p.role = text(*users_, "role", row);
  return p;
}

std::vector<reports::PortfolioBar> Directory::portfolios() const {
  std::vector<reports::PortfolioBar> bars;
  if (users_ == nullptr || accounts_ == nullptr || accounts_->column("owner_id") == nullptr) return bars;
  const std::size_t users = users_->size();
  std::vector<std::size_t> accounts(users, 0), strategic(users, 0);
  const model::Column* owner = accounts_->column("owner_id");
  const model::Column* tier_column = accounts_->column("tier");
  const model::TextValues tier = tier_column ? model::TextValues(data_, *tier_column) : model::TextValues();
  model::StrId strategic_id = data_.strings.find("strategic");
  for (std::size_t a = 0; a < accounts_->size(); ++a) {
    std::int32_t u = owner->rows[a];
    if (u == model::kNoRow) continue;
    ++accounts[static_cast<std::size_t>(u)];
    if (a < tier.size() && strategic_id != model::kMissingStr && tier[a] == strategic_id) {
      ++strategic[static_cast<std::size_t>(u)];
    }
  }
  const model::Column* role_column = users_->column("role");
  const model::TextValues role = role_column ? model::TextValues(data_, *role_column) : model::TextValues();
  const model::Column* active_column = users_->column("active");
  const model::NumberValues active = active_column ? model::NumberValues(*active_column) : model::NumberValues();
  model::StrId am = data_.strings.find("account_manager");
  for (std::size_t u = 0; u < users; ++u) {
    bool manager = role_column != nullptr ? u < role.size() && role[u] == am && am != model::kMissingStr : accounts[u] > 0;
    bool inactive = active.size() > u && active[u] == 0;
    if (!manager || inactive) continue;
    reports::PortfolioBar bar;
    auto row = static_cast<std::int32_t>(u);
    bar.manager_id = model::id_of(data_, *users_, u);
    bar.name = text(*users_, "name", row);
    bar.team = text(*users_, "team", row);
    bar.region = text(*users_, "region", row);
    bar.accounts = accounts[u];
    bar.strategic = strategic[u];
    bars.push_back(std::move(bar));
  }
  std::sort(bars.begin(), bars.end(), [](const reports::PortfolioBar& a, const reports::PortfolioBar& b) {
    return a.accounts != b.accounts ? a.accounts > b.accounts : a.manager_id < b.manager_id;
  });
  return bars;
}

}  // namespace rapport::nightly
