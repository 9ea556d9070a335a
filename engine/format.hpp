#pragma once
// How values read in messages, evidence and reports.

#include <string>

#include "dsl/types.hpp"
#include "engine/vector.hpp"
#include "model/table.hpp"

namespace rapport::engine {

/// A number as people read it: integers without decimals, else at most two decimals.
std::string format_number(double value, dsl::Unit unit);
/// Lane `lane` of `v` as text for a message: "212", "26%", "14d", "2026-04-12", "technical and end_user".
std::string format_lane(const Vec& v, const dsl::Type& type, std::size_t lane, const model::Dataset& data);
/// The same, appended to `out`.
void append_lane(std::string& out, const Vec& v, const dsl::Type& type, std::size_t lane, const model::Dataset& data);
/// Appends lane `lane` of `v` as a JSON value (lists truncated to 10 items; sets as {"count", "ids"}).
void append_evidence_json(std::string& out, const Vec& v, const dsl::Type& type, std::size_t lane,
                          const model::Dataset& data);

}  // namespace rapport::engine
