#include "agent/router/header_values.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include "agent/config/duration.h"

namespace keymux::router {
namespace {

constexpr std::int64_t kMicrosPerSecond = 1'000'000;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// HTTP's optional whitespace (spaces and tabs) around a field value.
std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// `now + d`, or nullopt when that leaves the representable range.
std::optional<Time> add_checked(Time t, Duration d) {
  std::int64_t out = 0;
  if (__builtin_add_overflow(t.time_since_epoch().count(), d.count(), &out)) return std::nullopt;
  return Time(Duration(out));
}

// A plain non-negative decimal ("30", "1.5", ".5", "12."): at least one digit,
// at most one dot, nothing else.
bool is_plain_decimal(std::string_view text) {
  bool digit = false;
  bool dot = false;
  for (const char c : text) {
    if (is_digit(c)) {
      digit = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digit;
}

// A plain decimal in `unit` ("s", "ms"), handed to the config's duration parser
// so that fractions, truncation and overflow follow one set of rules.
std::optional<Duration> parse_decimal_in(std::string_view text, std::string_view unit) {
  if (!is_plain_decimal(text)) return std::nullopt;
  std::string spelled;
  spelled.reserve(text.size() + unit.size());
  spelled.append(text);
  spelled.append(unit);
  return config::parse_duration(spelled);
}

// Fixed-width decimal field: exactly `width` digits at `pos`.
bool read_fixed(std::string_view text, std::size_t pos, std::size_t width, int& out) {
  if (pos + width > text.size()) return false;
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (!is_digit(text[i])) return false;
    value = value * 10 + (text[i] - '0');
  }
  out = value;
  return true;
}

bool is_leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[static_cast<std::size_t>(month - 1)];
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil); valid for every year this file accepts (0..9999).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);                 // [0, 399]
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// The civil year of a day count (the inverse of days_from_civil, year only).
std::int64_t year_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

struct CivilTime {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

// A valid calendar date and time of day; second 60 is a leap second and lands
// on the first second of the next minute.
std::optional<Time> to_time(const CivilTime& c) {
  if (c.year < 0 || c.year > 9999 || c.month < 1 || c.month > 12 || c.day < 1 ||
      c.day > days_in_month(c.year, c.month) || c.hour > 23 || c.minute > 59 || c.second > 60) {
    return std::nullopt;
  }
  const std::int64_t days =
      days_from_civil(c.year, static_cast<unsigned>(c.month), static_cast<unsigned>(c.day));
  const std::int64_t seconds = days * 86400 + c.hour * 3600 + c.minute * 60 + c.second;
  return Time(Duration(seconds * kMicrosPerSecond));
}

int month_from_name(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths{
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (name == kMonths[i]) return static_cast<int>(i) + 1;
  }
  return 0;
}

bool is_short_day_name(std::string_view name) {
  return name == "Mon" || name == "Tue" || name == "Wed" || name == "Thu" || name == "Fri" ||
         name == "Sat" || name == "Sun";
}

bool is_long_day_name(std::string_view name) {
  return name == "Monday" || name == "Tuesday" || name == "Wednesday" || name == "Thursday" ||
         name == "Friday" || name == "Saturday" || name == "Sunday";
}

// "HH:MM:SS" at `pos`.
bool read_clock(std::string_view text, std::size_t pos, CivilTime& c) {
  return read_fixed(text, pos, 2, c.hour) && pos + 2 < text.size() && text[pos + 2] == ':' &&
         read_fixed(text, pos + 3, 2, c.minute) && pos + 5 < text.size() && text[pos + 5] == ':' &&
         read_fixed(text, pos + 6, 2, c.second);
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters).
std::optional<Time> parse_imf_fixdate(std::string_view text) {
  if (text.size() != 29 || !is_short_day_name(text.substr(0, 3)) || text.substr(3, 2) != ", " ||
      text[7] != ' ' || text[11] != ' ' || text[16] != ' ' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  CivilTime c;
  c.month = month_from_name(text.substr(8, 3));
  if (!read_fixed(text, 5, 2, c.day) || !read_fixed(text, 12, 4, c.year) ||
      !read_clock(text, 17, c)) {
    return std::nullopt;
  }
  return to_time(c);
}

// Obsolete RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". A two-digit year more
// than 50 years ahead of `now` is the latest past year ending in those digits
// (RFC 9110, 5.6.7).
std::optional<Time> parse_rfc850(std::string_view text, Time now) {
  const std::size_t comma = text.find(',');
  if (comma == std::string_view::npos || !is_long_day_name(text.substr(0, comma))) {
    return std::nullopt;
  }
  const std::string_view rest = text.substr(comma);  // ", 06-Nov-94 08:49:37 GMT"
  if (rest.size() != 24 || rest[1] != ' ' || rest[4] != '-' || rest[8] != '-' || rest[11] != ' ' ||
      rest.substr(20) != " GMT") {
    return std::nullopt;
  }
  CivilTime c;
  int yy = 0;
  c.month = month_from_name(rest.substr(5, 3));
  if (!read_fixed(rest, 2, 2, c.day) || !read_fixed(rest, 9, 2, yy) || !read_clock(rest, 12, c)) {
    return std::nullopt;
  }
  const std::int64_t now_days =
      std::chrono::floor<std::chrono::days>(now).time_since_epoch().count();
  const std::int64_t now_year = year_from_days(now_days);
  std::int64_t year = now_year - now_year % 100 + yy;  // this century
  if (year > now_year + 50) year -= 100;
  if (year < 0 || year > 9999) return std::nullopt;
  c.year = static_cast<int>(year);
  return to_time(c);
}

// asctime: "Sun Nov  6 08:49:37 1994" (day space-padded).
std::optional<Time> parse_asctime(std::string_view text) {
  if (text.size() != 24 || !is_short_day_name(text.substr(0, 3)) || text[3] != ' ' ||
      text[7] != ' ' || text[10] != ' ' || text[19] != ' ') {
    return std::nullopt;
  }
  CivilTime c;
  c.month = month_from_name(text.substr(4, 3));
  if (text[8] == ' ') {
    if (!read_fixed(text, 9, 1, c.day)) return std::nullopt;
  } else if (!read_fixed(text, 8, 2, c.day)) {
    return std::nullopt;
  }
  if (!read_clock(text, 11, c) || !read_fixed(text, 20, 4, c.year)) return std::nullopt;
  return to_time(c);
}

}  // namespace

std::optional<std::uint64_t> parse_count(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (!is_digit(c)) return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<Duration> parse_reset_duration(std::string_view text) {
  text = trim(text);
  // A bare number is seconds; everything else is Go's duration syntax.
  if (is_plain_decimal(text)) return parse_decimal_in(text, "s");
  return config::parse_duration(text);
}

std::optional<Time> parse_rfc3339(std::string_view text) {
  text = trim(text);
  // "YYYY-MM-DDTHH:MM:SS" is 19 characters; a fraction and an offset follow.
  CivilTime c;
  if (text.size() < 20 || !read_fixed(text, 0, 4, c.year) || text[4] != '-' ||
      !read_fixed(text, 5, 2, c.month) || text[7] != '-' || !read_fixed(text, 8, 2, c.day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !read_clock(text, 11, c)) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (text[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    std::int64_t scale = kMicrosPerSecond;
    while (pos < text.size() && is_digit(text[pos])) {
      scale /= 10;  // digits below a microsecond are dropped
      micros += (text[pos] - '0') * scale;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  std::int64_t offset_seconds = 0;
  const std::string_view zone = text.substr(pos);
  if (zone == "Z" || zone == "z") {
    // UTC.
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int hours = 0;
    int minutes = 0;
    if (!read_fixed(zone, 1, 2, hours) || !read_fixed(zone, 4, 2, minutes) || hours > 23 ||
        minutes > 59) {
      return std::nullopt;
    }
    offset_seconds = (hours * 3600 + minutes * 60) * (zone[0] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  const std::optional<Time> local = to_time(c);
  if (!local) return std::nullopt;
  // Local time = UTC + offset, so UTC = local - offset.
  return *local + Duration(micros) - std::chrono::seconds(offset_seconds);
}

std::optional<Time> parse_retry_after(std::string_view text, Time now) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  std::optional<Time> at;
  if (is_digit(text.front()) || text.front() == '.') {
    // delta-seconds; a fraction is tolerated.
    const std::optional<Duration> delta = parse_decimal_in(text, "s");
    if (!delta) return std::nullopt;
    return add_checked(now, *delta);
  }
  at = parse_imf_fixdate(text);
  if (!at) at = parse_rfc850(text, now);
  if (!at) at = parse_asctime(text);
  if (!at) return std::nullopt;
  return *at < now ? now : *at;
}

std::optional<Duration> parse_retry_after_ms(std::string_view text) {
  return parse_decimal_in(trim(text), "ms");
}

}  // namespace keymux::router
