#include "base/time_zone.h"

#include <algorithm>
#include <limits>

#include "base/time.h"

namespace slogate {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kMaxOffset = std::int64_t{26} * 3600;  // RFC 8536: −25:59:59 .. +25:59:59

std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

std::int64_t yearOf(std::int64_t seconds) {
  std::int64_t year = 0;
  unsigned month = 0;
  unsigned day = 0;
  civilFromDays(floorDiv(seconds, kDay), year, month, day);
  return year;
}

bool isLeap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

// ---- POSIX TZ strings -------------------------------------------------------

class RuleParser {
 public:
  explicit RuleParser(std::string_view text) : text_(text) {}

  bool done() const { return pos_ == text_.size(); }
  bool peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool eat(char c) {
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }

  // "<+0330>" or at least three letters.
  bool name() {
    if (eat('<')) {
      const std::size_t start = pos_;
      while (pos_ < text_.size() && text_[pos_] != '>') {
        const char c = text_[pos_];
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '+' || c == '-';
        if (!ok) return false;
        ++pos_;
      }
      return pos_ - start >= 3 && eat('>');
    }
    const std::size_t start = pos_;
    while (pos_ < text_.size() && ((text_[pos_] >= 'A' && text_[pos_] <= 'Z') ||
                                   (text_[pos_] >= 'a' && text_[pos_] <= 'z'))) {
      ++pos_;
    }
    return pos_ - start >= 3;
  }

  bool digits(int maxDigits, std::int64_t& out) {
    const std::size_t start = pos_;
    out = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9' &&
           pos_ - start < static_cast<std::size_t>(maxDigits)) {
      out = out * 10 + (text_[pos_] - '0');
      ++pos_;
    }
    return pos_ > start;
  }

  // [+-]hh[:mm[:ss]] with hh up to maxHours; seconds, signed as written.
  bool clock(std::int64_t maxHours, std::int64_t& out) {
    std::int64_t sign = 1;
    if (eat('-')) {
      sign = -1;
    } else {
      eat('+');
    }
    std::int64_t h = 0;
    std::int64_t m = 0;
    std::int64_t s = 0;
    if (!digits(3, h) || h > maxHours) return false;
    if (eat(':')) {
      if (!digits(2, m) || m > 59) return false;
      if (eat(':') && (!digits(2, s) || s > 59)) return false;
    }
    out = sign * (h * 3600 + m * 60 + s);
    return true;
  }

  bool when(PosixTzRule::When& w) {
    using Form = PosixTzRule::When::Form;
    std::int64_t a = 0;
    if (eat('M')) {
      std::int64_t week = 0;
      std::int64_t day = 0;
      if (!digits(2, a) || a < 1 || a > 12 || !eat('.') || !digits(1, week) || week < 1 ||
          week > 5 || !eat('.') || !digits(1, day) || day > 6) {
        return false;
      }
      w.form = Form::kMonthWeekDay;
      w.month = static_cast<int>(a);
      w.week = static_cast<int>(week);
      w.day = static_cast<int>(day);
    } else if (eat('J')) {
      if (!digits(3, a) || a < 1 || a > 365) return false;
      w.form = Form::kJulian1;
      w.day = static_cast<int>(a);
    } else {
      if (!digits(3, a) || a > 365) return false;
      w.form = Form::kJulian0;
      w.day = static_cast<int>(a);
    }
    w.seconds = 7200;
    if (eat('/') && !clock(167, w.seconds)) return false;
    return true;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

// Seconds since the epoch of the rule's local date and time in `year`, as if
// local time were UTC.
std::int64_t localRuleTime(std::int64_t year, const PosixTzRule::When& w) {
  using Form = PosixTzRule::When::Form;
  std::int64_t days = 0;
  switch (w.form) {
    case Form::kJulian1: {
      std::int64_t doy = w.day - 1;  // Feb 29 is never counted
      if (isLeap(year) && w.day >= 60) ++doy;
      days = daysFromCivil(year, 1, 1) + doy;
      break;
    }
    case Form::kJulian0:
      days = daysFromCivil(year, 1, 1) + w.day;
      break;
    case Form::kMonthWeekDay: {
      const auto month = static_cast<unsigned>(w.month);
      const std::int64_t first = daysFromCivil(year, month, 1);
      const std::int64_t next =
          month == 12 ? daysFromCivil(year + 1, 1, 1) : daysFromCivil(year, month + 1, 1);
      const std::int64_t firstWeekday = ((first + 4) % 7 + 7) % 7;  // 1970-01-01: Thursday
      std::int64_t day =
          first + (w.day - firstWeekday + 7) % 7 + static_cast<std::int64_t>(w.week - 1) * 7;
      while (day >= next) day -= 7;
      days = day;
      break;
    }
  }
  return days * kDay + w.seconds;
}

// ---- TZif -------------------------------------------------------------------

class Bytes {
 public:
  explicit Bytes(std::string_view data) : data_(data) {}
  bool has(std::uint64_t n) const { return n <= data_.size() - pos_; }
  std::size_t pos() const { return pos_; }
  void skip(std::uint64_t n) { pos_ += static_cast<std::size_t>(n); }
  std::string_view rest() const { return data_.substr(pos_); }
  std::uint64_t be(int width) {
    std::uint64_t v = 0;
    for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(data_[pos_++]);
    return v;
  }
  std::int64_t signedBe(int width) {
    const std::uint64_t v = be(width);
    if (width == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    return static_cast<std::int64_t>(v);
  }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

struct Header {
  char version = 0;
  std::uint64_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
  std::uint64_t blockSize(int timeWidth) const {
    return timecnt * static_cast<std::uint64_t>(timeWidth) + timecnt + typecnt * 6 + charcnt +
           leapcnt * static_cast<std::uint64_t>(timeWidth + 4) + isstdcnt + isutcnt;
  }
};

Result<Header> readHeader(Bytes& in) {
  if (!in.has(44) || in.rest().substr(0, 4) != "TZif") {
    return invalidArgument("not a TZif file (no TZif header)");
  }
  in.skip(4);
  Header h;
  h.version = static_cast<char>(in.be(1));
  if (h.version != 0 && h.version != '2' && h.version != '3' && h.version != '4') {
    return invalidArgument("unknown TZif version");
  }
  in.skip(15);
  h.isutcnt = in.be(4);
  h.isstdcnt = in.be(4);
  h.leapcnt = in.be(4);
  h.timecnt = in.be(4);
  h.typecnt = in.be(4);
  h.charcnt = in.be(4);
  if (h.typecnt == 0 || h.charcnt == 0 || (h.isutcnt != 0 && h.isutcnt != h.typecnt) ||
      (h.isstdcnt != 0 && h.isstdcnt != h.typecnt)) {
    return invalidArgument("inconsistent TZif header counts");
  }
  return h;
}

}  // namespace

// ---- PosixTzRule ------------------------------------------------------------

Result<PosixTzRule> PosixTzRule::parse(std::string_view text) {
  RuleParser p(text);
  PosixTzRule rule;
  const auto bad = [&] {
    return invalidArgument("malformed POSIX TZ rule \"" + std::string(text) + "\"");
  };
  std::int64_t offset = 0;
  if (!p.name() || !p.clock(24, offset)) return bad();
  rule.stdOffset = -offset;  // POSIX counts west of Greenwich as positive
  if (p.done()) return rule;
  if (!p.name()) return bad();
  rule.hasDst = true;
  rule.dstOffset = rule.stdOffset + 3600;
  if (!p.peek(',') && !p.done()) {
    if (!p.clock(24, offset)) return bad();
    rule.dstOffset = -offset;
  }
  if (p.eat(',')) {
    if (!p.when(rule.start) || !p.eat(',') || !p.when(rule.end)) return bad();
  } else {
    // No rule given: POSIX leaves it to the implementation; glibc and zic use
    // the United States' rules.
    rule.start = {When::Form::kMonthWeekDay, 0, 3, 2, 7200};
    rule.end = {When::Form::kMonthWeekDay, 0, 11, 1, 7200};
  }
  if (!p.done()) return bad();
  return rule;
}

std::int64_t PosixTzRule::startIn(std::int64_t year) const {
  return localRuleTime(year, start) - stdOffset;
}

std::int64_t PosixTzRule::endIn(std::int64_t year) const {
  return localRuleTime(year, end) - dstOffset;
}

std::int64_t PosixTzRule::offsetAt(std::int64_t utcSeconds) const {
  if (!hasDst) return stdOffset;
  const std::int64_t year = yearOf(utcSeconds + stdOffset);
  const std::int64_t s = startIn(year);
  const std::int64_t e = endIn(year);
  const bool dst =
      s < e ? (s <= utcSeconds && utcSeconds < e) : !(e <= utcSeconds && utcSeconds < s);
  return dst ? dstOffset : stdOffset;
}

// ---- TimeZone -------------------------------------------------------------

TimeZone TimeZone::utc() {
  TimeZone zone;
  zone.name_ = "UTC";
  return zone;
}

Result<TimeZone> TimeZone::fromPosix(std::string name, std::string_view rule) {
  auto parsed = PosixTzRule::parse(rule);
  if (!parsed) return parsed.status().withContext(name);
  TimeZone zone;
  zone.name_ = std::move(name);
  zone.initialOffset_ = parsed->stdOffset;
  zone.footer_ = *parsed;
  return zone;
}

Result<TimeZone> TimeZone::fromTzif(std::string name, std::string_view bytes) {
  const auto fail = [&](const std::string& what) { return invalidArgument(name + ": " + what); };
  Bytes in(bytes);
  auto first = readHeader(in);
  if (!first) return first.status().withContext(name);
  Header h = *first;
  int width = 4;
  if (h.version != 0) {
    // Skip the 32-bit block; the 64-bit one follows with its own header.
    if (!in.has(h.blockSize(4))) return fail("truncated TZif data");
    in.skip(h.blockSize(4));
    auto second = readHeader(in);
    if (!second) return second.status().withContext(name);
    h = *second;
    width = 8;
  }
  if (!in.has(h.blockSize(width))) return fail("truncated TZif data");
  if (h.leapcnt != 0) return fail("leap-second (\"right/\") zones are not supported");

  std::vector<std::int64_t> times(static_cast<std::size_t>(h.timecnt));
  for (auto& t : times) t = in.signedBe(width);
  std::vector<std::size_t> typeOf(static_cast<std::size_t>(h.timecnt));
  for (auto& k : typeOf) {
    k = static_cast<std::size_t>(in.be(1));
    if (k >= h.typecnt) return fail("transition names an unknown local time type");
  }
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(h.typecnt));
  for (auto& o : offsets) {
    o = in.signedBe(4);
    in.skip(2);  // isdst, designation index
    if (o < -kMaxOffset || o > kMaxOffset) return fail("UTC offset out of range");
  }
  in.skip(h.charcnt + h.isstdcnt + h.isutcnt);

  TimeZone zone;
  zone.initialOffset_ = offsets[0];
  zone.transitions_.reserve(times.size());
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (i > 0 && times[i] <= times[i - 1]) return fail("transition times not ascending");
    zone.transitions_.push_back({times[i], offsets[typeOf[i]]});
  }
  if (width == 8) {
    const std::string_view rest = in.rest();
    if (rest.empty() || rest[0] != '\n') return fail("missing TZif footer");
    const std::size_t end = rest.find('\n', 1);
    if (end == std::string_view::npos) return fail("unterminated TZif footer");
    const std::string_view footer = rest.substr(1, end - 1);
    if (!footer.empty()) {
      auto rule = PosixTzRule::parse(footer);
      if (!rule) return fail(rule.status().message());
      zone.footer_ = *rule;
      if (zone.transitions_.empty()) zone.initialOffset_ = rule->stdOffset;
    }
  }
  zone.name_ = std::move(name);
  return zone;
}

std::int64_t TimeZone::offsetAt(std::int64_t utcSeconds) const {
  if (transitions_.empty()) return footer_ ? footer_->offsetAt(utcSeconds) : initialOffset_;
  if (utcSeconds < transitions_.front().at) return initialOffset_;
  const auto next =
      std::upper_bound(transitions_.begin(), transitions_.end(), utcSeconds,
                       [](std::int64_t t, const Transition& tr) { return t < tr.at; });
  if (next == transitions_.end() && footer_) return footer_->offsetAt(utcSeconds);
  return std::prev(next)->offset;
}

std::vector<std::int64_t> TimeZone::changesBetween(std::int64_t from, std::int64_t to) const {
  std::vector<std::int64_t> out;
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), from,
                             [](std::int64_t t, const Transition& tr) { return t < tr.at; });
  for (; it != transitions_.end() && it->at <= to; ++it) out.push_back(it->at);
  if (footer_ && footer_->hasDst) {
    const std::int64_t after =
        transitions_.empty() ? std::numeric_limits<std::int64_t>::min() : transitions_.back().at;
    for (std::int64_t y = yearOf(from) - 1; y <= yearOf(to) + 1; ++y) {
      for (const std::int64_t at : {footer_->startIn(y), footer_->endIn(y)}) {
        if (at > from && at <= to && at > after) out.push_back(at);
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::int64_t TimeZone::firstInstantAtOrAfter(std::int64_t localSeconds) const {
  // Every instant before `from` reads earlier than localSeconds (offsets are
  // within ±26h), so the answer lies in the first segment of constant offset
  // after `from` whose local clock reaches localSeconds.
  const std::int64_t from = localSeconds - 3 * kDay;
  const std::int64_t to = localSeconds + 3 * kDay;
  std::vector<std::int64_t> starts = {from};
  for (const std::int64_t at : changesBetween(from, to)) starts.push_back(at);
  for (std::size_t k = 0; k < starts.size(); ++k) {
    const std::int64_t candidate = std::max(starts[k], localSeconds - offsetAt(starts[k]));
    if (k + 1 == starts.size() || candidate < starts[k + 1]) return candidate;
  }
  return localSeconds - offsetAt(localSeconds);  // not reached: the last segment is open
}

}  // namespace slogate
