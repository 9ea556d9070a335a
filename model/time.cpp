#include "model/time.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace rapport::model {

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

namespace {

/// The `count` ASCII digits at `p` as a number; false when one isn't a digit. The loader parses
/// millions of dates and timestamps: no bounds checks here, the callers checked the length.
inline bool digits_at(const char* p, unsigned count, unsigned& value) {
  value = 0;
  for (unsigned i = 0; i < count; ++i) {
    const unsigned digit = static_cast<unsigned>(static_cast<unsigned char>(p[i])) - '0';
    if (digit > 9) return false;
    value = value * 10 + digit;
  }
  return true;
}

constexpr unsigned month_length(std::int64_t year, unsigned month) {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

/// The first day (days since 1970-01-01) and the length of every month of kTableYears years from
/// kTableFirstYear, computed at compile time: the loader parses tens of millions of dates, and a
/// lookup costs less than the calendar arithmetic (dates outside the table still get it).
constexpr std::int64_t kTableFirstYear = 1900;
constexpr std::int64_t kTableYears = 300;
struct MonthStart {
  std::int32_t days = 0;
  std::uint32_t length = 0;
};
constexpr auto kMonthStarts = [] {
  std::array<MonthStart, kTableYears * 12> table{};
  // days_from_civil(1900, 1, 1), then month by month.
  std::int64_t days = -25567;
  for (std::int64_t m = 0; m < kTableYears * 12; ++m) {
    const unsigned length = month_length(kTableFirstYear + m / 12, static_cast<unsigned>(m % 12) + 1);
    table[static_cast<std::size_t>(m)] = MonthStart{static_cast<std::int32_t>(days), length};
    days += length;
  }
  return table;
}();

enum class TableDay { Day, NotADay, Outside };

/// Days since 1970-01-01 from the month table; Outside for a month the table lacks (a month
/// number out of range included: the calendar arithmetic then decides).
inline TableDay table_day(unsigned year, unsigned month, unsigned day, std::int64_t& days) {
  const std::int64_t index = (static_cast<std::int64_t>(year) - kTableFirstYear) * 12 + month - 1;
  if (month < 1 || month > 12 || index < 0 || index >= kTableYears * 12) return TableDay::Outside;
  const MonthStart& start = kMonthStarts[static_cast<std::size_t>(index)];
  if (day < 1 || day > start.length) return TableDay::NotADay;
  days = start.days + static_cast<std::int64_t>(day) - 1;
  return TableDay::Day;
}

/// `YYYY-MM-DD` at p (10 bytes): days since 1970-01-01.
inline bool date_at(const char* p, std::int64_t& days) {
  unsigned year = 0, month = 0, day = 0;
  if (p[4] != '-' || p[7] != '-' || !digits_at(p, 4, year) || !digits_at(p + 5, 2, month) ||
      !digits_at(p + 8, 2, day)) {
    return false;
  }
  const TableDay found = table_day(year, month, day, days);
  if (found != TableDay::Outside) return found == TableDay::Day;
  if (!valid_date(year, month, day)) return false;
  days = days_from_civil(year, month, day);
  return true;
}

}  // namespace

void civil_from_days(std::int64_t days, std::int64_t& year, unsigned& month, unsigned& day) {
  std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
}

bool valid_date(std::int64_t year, unsigned month, unsigned day) {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= month_length(year, month);
}

std::optional<double> parse_date(std::string_view text) {
  std::int64_t days = 0;
  if (text.size() != 10 || !date_at(text.data(), days)) return std::nullopt;
  return static_cast<double>(days) * kSecondsPerDay;
}

namespace {

#if defined(__SSE2__)
/// `YYYY-MM-DDTHH:MM:SSZ`, the form exports write (20 bytes), in seconds since 1970: its first 16
/// bytes checked at once with SSE2 (digits where digits go, `-`, `T` and `:` between them). The
/// loader parses tens of millions; byte by byte this was ~170 instructions each. False for any
/// other form and for a bad value (parse_timestamp() then decides).
inline bool plain_utc_timestamp(const char* p, double& seconds) {
  if (p[16] != ':' || p[19] != 'Z') return false;
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i digits = _mm_sub_epi8(bytes, _mm_set1_epi8('0'));
  // A byte is a digit when (byte - '0') as unsigned is at most 9.
  const int digit_mask = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(digits, _mm_set1_epi8(9)), digits));
  const __m128i separators = _mm_setr_epi8(0, 0, 0, 0, '-', 0, 0, '-', 0, 0, 'T', 0, 0, ':', 0, 0);
  const int separator_mask = _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, separators));
  constexpr int kSeparators = (1 << 4) | (1 << 7) | (1 << 10) | (1 << 13);
  if ((((digit_mask & ~kSeparators) | (separator_mask & kSeparators)) & 0xFFFF) != 0xFFFF) return false;
  const auto digit = [p](int at) { return static_cast<unsigned>(p[at] - '0'); };
  const unsigned s1 = digit(17), s2 = digit(18);
  if (s1 > 9 || s2 > 9) return false;
  const unsigned year = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3);
  const unsigned month = digit(5) * 10 + digit(6);
  const unsigned day = digit(8) * 10 + digit(9);
  const unsigned hour = digit(11) * 10 + digit(12);
  const unsigned minute = digit(14) * 10 + digit(15);
  const unsigned second = s1 * 10 + s2;
  std::int64_t days = 0;
  if (hour > 23 || minute > 59 || second > 60 || table_day(year, month, day, days) != TableDay::Day) return false;
  seconds = static_cast<double>(days) * kSecondsPerDay + hour * 3600.0 + minute * 60.0 + second;
  return true;
}
#endif

}  // namespace

std::optional<double> parse_timestamp(std::string_view text) {
  const char* p = text.data();
  const std::size_t size = text.size();
#if defined(__SSE2__)
  if (double seconds = 0; size == 20 && plain_utc_timestamp(p, seconds)) return seconds;
#endif
  std::int64_t days = 0;
  unsigned hour = 0, minute = 0, second = 0;
  if (size < 17 || p[10] != 'T' || !date_at(p, days) || !digits_at(p + 11, 2, hour) || p[13] != ':' ||
      !digits_at(p + 14, 2, minute)) {
    return std::nullopt;
  }
  std::size_t at = 16;
  if (p[at] == ':') {
    if (size < at + 3 || !digits_at(p + at + 1, 2, second)) return std::nullopt;
    at += 3;
    if (at < size && p[at] == '.') {  // fractional seconds are accepted and dropped
      ++at;
      while (at < size && p[at] >= '0' && p[at] <= '9') ++at;
    }
  }
  const std::size_t zone = size - at;
  const bool utc = (zone == 1 && p[at] == 'Z') || (zone == 6 && std::memcmp(p + at, "+00:00", 6) == 0);
  if (!utc || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  return static_cast<double>(days) * kSecondsPerDay + hour * 3600.0 + minute * 60.0 + second;
}

std::optional<double> parse_date_or_timestamp(std::string_view text) {
  if (text.size() == 10) return parse_date(text);
  return parse_timestamp(text);
}

namespace {

/// Writes `value` (0 <= value < 10^width) as `width` digits, zero-padded; returns the end.
char* put_digits(char* out, std::int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

/// YYYY-MM-DD of a day count into `out` (at least 32 bytes); returns the end. Written digit by
/// digit (reports format a date per finding; snprintf parses its format each time); years outside
/// 0000-9999 as snprintf's %04lld would write them.
char* put_date(char* out, std::int64_t days) {
  std::int64_t year = 0;
  unsigned month = 0, day = 0;
  civil_from_days(days, year, month, day);
  if (year < 0 || year > 9999) {
    const int n = std::snprintf(out, 32, "%04lld-%02u-%02u", static_cast<long long>(year), month, day);
    return out + n;
  }
  out = put_digits(out, year, 4);
  *out++ = '-';
  out = put_digits(out, month, 2);
  *out++ = '-';
  return put_digits(out, day, 2);
}

}  // namespace

std::string format_date(double seconds) {
  if (std::isnan(seconds)) return "";
  char buffer[32];
  const char* end = put_date(buffer, static_cast<std::int64_t>(std::floor(seconds / kSecondsPerDay)));
  return std::string(buffer, static_cast<std::size_t>(end - buffer));
}

std::string format_timestamp(double seconds) {
  if (std::isnan(seconds)) return "";
  auto whole = static_cast<std::int64_t>(std::floor(seconds));
  std::int64_t days = whole >= 0 ? whole / 86400 : (whole - 86399) / 86400;
  std::int64_t rest = whole - days * 86400;
  char buffer[48];
  char* out = put_date(buffer, days);
  *out++ = 'T';
  out = put_digits(out, rest / 3600, 2);
  *out++ = ':';
  out = put_digits(out, rest / 60 % 60, 2);
  *out++ = ':';
  out = put_digits(out, rest % 60, 2);
  *out++ = 'Z';
  return std::string(buffer, static_cast<std::size_t>(out - buffer));
}

std::string format_duration(double seconds) {
  if (std::isnan(seconds)) return "";
  double abs_seconds = std::fabs(seconds);
  auto whole = [](double v) { return std::fabs(v - std::round(v)) < 1e-9; };
  // std::to_chars with a precision rounds as printf's %.*f does, without its format parsing.
  auto written = [](double value, int decimals, char unit) {
    char buffer[400];  // the longest fixed form of a double, with room for the unit
    auto result = std::to_chars(buffer, buffer + sizeof buffer - 1, value, std::chars_format::fixed, decimals);
    *result.ptr++ = unit;
    return std::string(buffer, static_cast<std::size_t>(result.ptr - buffer));
  };
  if (abs_seconds >= 86400 && whole(seconds / 86400)) return written(seconds / 86400, 0, 'd');
  if (whole(seconds / 3600)) return written(seconds / 3600, 0, 'h');
  if (abs_seconds >= 86400) return written(seconds / 86400, 1, 'd');
  return written(seconds / 3600, 1, 'h');
}

}  // namespace rapport::model
