#pragma once
// "Did you mean" suggestions by Damerau-Levenshtein distance.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::diag {

/// Optimal-string-alignment distance between two strings (bytes); stops early past `limit`.
std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t limit = 3);

/// The closest candidate within distance 2 (or differing only by case), ties by candidate order.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace rapport::diag
