#pragma once
// Calendar arithmetic for dates and UTC timestamps, kept as seconds since 1970-01-01T00:00:00Z.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rapport::model {

constexpr double kSecondsPerDay = 86400.0;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);
/// The date of a day count since 1970-01-01 (the inverse of days_from_civil()).
void civil_from_days(std::int64_t days, std::int64_t& year, unsigned& month, unsigned& day);
/// True when the day exists in that month and year.
bool valid_date(std::int64_t year, unsigned month, unsigned day);

/// `2026-03-01` -> seconds at 00:00Z; nullopt when malformed or impossible.
std::optional<double> parse_date(std::string_view text);
/// `2026-03-01T09:30:00Z` or `2026-03-01T09:30Z` (also accepts `+00:00`); nullopt otherwise.
std::optional<double> parse_timestamp(std::string_view text);
/// Either form: a bare date is taken as 00:00:00Z.
std::optional<double> parse_date_or_timestamp(std::string_view text);

/// `2026-03-01`.
std::string format_date(double seconds);
/// `2026-03-01T09:30:00Z`.
std::string format_timestamp(double seconds);
/// A duration for people: whole days as `90d`, else hours `12h`, else seconds.
std::string format_duration(double seconds);

}  // namespace rapport::model
