#include "reports/run_report.hpp"

#include <algorithm>

namespace rapport::reports {

std::string_view status_name(Status status) {
  switch (status) {
    case Status::New: return "new";
    case Status::Open: return "open";
    case Status::Waived: return "waived";
  }
  return "new";
}

const Person* RunReport::person(std::string_view id) const {
  auto it = std::lower_bound(people.begin(), people.end(), id,
                             [](const Person& p, std::string_view key) { return p.id < key; });
  return it != people.end() && it->id == id ? &*it : nullptr;
}

}  // namespace rapport::reports
