//! Validated value types: ids, instants, windows, quantities and money.
//!
//! Every constructor checks its invariant once, so code that holds one of
//! these values never re-checks it.

use std::fmt;
use std::sync::Arc;

use rust_decimal::Decimal;

/// Why a raw value could not become one of the value types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("id {0:?} is invalid: ids match [a-z0-9][a-z0-9._-]* and have at most 64 characters")]
    BadId(String),
    #[error("window is empty: start {start} is not before end {end}")]
    EmptyWindow { start: Instant, end: Instant },
    #[error("{field} must be positive, got {value}")]
    NotPositive { field: &'static str, value: String },
    #[error("{field} must not be negative, got {value}")]
    Negative { field: &'static str, value: String },
    #[error("{field} is out of range: {value}")]
    OutOfRange { field: &'static str, value: String },
}

/// An identifier: `[a-z0-9][a-z0-9._-]*`, at most 64 characters.
///
/// Shared (`Arc`): ids are cloned into indexes and violations, and a clone
/// must not allocate.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(Arc<str>);

impl Id {
    pub const MAX_LEN: usize = 64;

    pub fn new(s: &str) -> Result<Id, ValueError> {
        Self::checked(s, false)
    }

    /// A GPU class id: like any id, but uppercase letters are allowed too,
    /// since class names are written `H100` (as in the spec's own example).
    pub fn new_gpu_class(s: &str) -> Result<Id, ValueError> {
        Self::checked(s, true)
    }

    fn checked(s: &str, upper: bool) -> Result<Id, ValueError> {
        let b = s.as_bytes();
        let letter = |c: &u8| c.is_ascii_lowercase() || (upper && c.is_ascii_uppercase());
        let ok = !b.is_empty()
            && b.len() <= Self::MAX_LEN
            && (letter(&b[0]) || b[0].is_ascii_digit())
            && b.iter()
                .all(|c| letter(c) || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-'));
        if ok {
            Ok(Id(s.into()))
        } else {
            Err(ValueError::BadId(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

/// An instant in UTC, whole seconds since 1970-01-01T00:00:00Z.
///
/// Seconds are enough: scenario times are dates or date-times, and exact
/// integer arithmetic keeps "hours in a window" free of rounding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Instant(i64);

impl Instant {
    pub const MIN: Instant = Instant(i64::MIN);
    pub const MAX: Instant = Instant(i64::MAX);

    pub const fn from_unix_seconds(s: i64) -> Instant {
        Instant(s)
    }

    pub const fn unix_seconds(self) -> i64 {
        self.0
    }

    /// Midnight UTC of a proleptic Gregorian date; `None` for an impossible date.
    pub fn from_date(year: i32, month: u8, day: u8) -> Option<Instant> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Instant(days_from_civil(year, month, day) * 86_400))
    }

    /// A date-time in UTC, given the offset of the written time in seconds east of UTC.
    pub fn from_datetime(
        year: i32,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        offset_seconds: i32,
    ) -> Option<Instant> {
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let d = Instant::from_date(year, month, day)?;
        let secs = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second.min(59));
        Some(Instant(d.0 + secs - i64::from(offset_seconds)))
    }

    /// (year, month, day, hour, minute, second) in UTC.
    pub fn to_civil(self) -> (i64, u8, u8, u8, u8, u8) {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (
            y,
            m,
            d,
            (secs / 3600) as u8,
            (secs / 60 % 60) as u8,
            (secs % 60) as u8,
        )
    }

    /// Just the date, `YYYY-MM-DD`.
    pub fn date_string(self) -> String {
        let (y, m, d, ..) = self.to_civil();
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// `YYYY-MM`, the month this instant falls in.
    pub fn month_string(self) -> String {
        let (y, m, ..) = self.to_civil();
        format!("{y:04}-{m:02}")
    }
}

/// RFC 3339 in UTC, e.g. `2026-01-01T00:00:00Z`.
impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.to_civil();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days: exact for every
// proleptic Gregorian date, no tables, no clock.
fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A non-empty half-open window `[start, end)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Window {
    start: Instant,
    end: Instant,
}

impl Window {
    pub fn new(start: Instant, end: Instant) -> Result<Window, ValueError> {
        if start < end {
            Ok(Window { start, end })
        } else {
            Err(ValueError::EmptyWindow { start, end })
        }
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    pub fn end(&self) -> Instant {
        self.end
    }

    pub fn contains(&self, t: Instant) -> bool {
        self.start <= t && t < self.end
    }

    pub fn contains_window(&self, other: &Window) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    pub fn overlaps(&self, other: &Window) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// The part of this window from `t` on, if any is left.
    pub fn from(&self, t: Instant) -> Option<Window> {
        Window::new(self.start.max(t), self.end).ok()
    }

    pub fn seconds(&self) -> i64 {
        self.end.0 - self.start.0
    }

    /// Exact hours: seconds / 3600 as a decimal.
    pub fn hours(&self) -> Decimal {
        Decimal::from(self.seconds()) / Decimal::from(3600)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

/// A positive whole number of GPUs.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Gpus(u32);

impl Gpus {
    pub fn new(field: &'static str, n: i64) -> Result<Gpus, ValueError> {
        if n <= 0 {
            return Err(ValueError::NotPositive {
                field,
                value: n.to_string(),
            });
        }
        u32::try_from(n)
            .map(Gpus)
            .map_err(|_| ValueError::OutOfRange {
                field,
                value: n.to_string(),
            })
    }

    pub fn get(self) -> u32 {
        self.0
    }

    pub fn as_i64(self) -> i64 {
        i64::from(self.0)
    }
}

impl fmt::Display for Gpus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A signed, non-zero whole number of GPUs: installed GPUs added by an
/// expansion (negative: retired).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct GpuDelta(i64);

impl GpuDelta {
    /// Bounded like [`Gpus`] (|n| ≤ u32::MAX), so sums of installed GPUs
    /// over any number of expansions stay far inside i64.
    pub fn new(field: &'static str, n: i64) -> Result<GpuDelta, ValueError> {
        if n == 0 {
            return Err(ValueError::OutOfRange {
                field,
                value: "0 (a change of installed GPUs is positive or negative, never 0)".into(),
            });
        }
        if n.unsigned_abs() > u64::from(u32::MAX) {
            return Err(ValueError::OutOfRange {
                field,
                value: n.to_string(),
            });
        }
        Ok(GpuDelta(n))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for GpuDelta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:+}", self.0)
    }
}

/// A signed, non-zero change of a site's power in MW (negative: removed).
#[derive(Clone, Copy, PartialEq, PartialOrd, Debug)]
pub struct MwDelta(f64);

impl MwDelta {
    /// A million MW (a petawatt) bounds any campus and keeps every power
    /// sum exact as a decimal.
    pub const MAX_ABS: f64 = 1e6;

    pub fn new(field: &'static str, x: f64) -> Result<MwDelta, ValueError> {
        if !x.is_finite() || x == 0.0 || x.abs() > Self::MAX_ABS {
            return Err(ValueError::OutOfRange {
                field,
                value: format!(
                    "{x} (a change of power is a finite non-zero number of MW, at most {} in size)",
                    Self::MAX_ABS
                ),
            });
        }
        Ok(MwDelta(x))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// A calendar month in UTC: `[YYYY-MM-01T00:00:00Z, first day of the next month)`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Month {
    year: i32,
    month: u8,
}

impl Month {
    pub fn new(year: i32, month: u8) -> Result<Month, ValueError> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(ValueError::OutOfRange {
                field: "month",
                value: format!("{year:04}-{month:02} (a month is YYYY-MM, years 0001-9999)"),
            });
        }
        Ok(Month { year, month })
    }

    /// Reads exactly `YYYY-MM` (`2026-1` and `2026-13` are refused).
    pub fn parse(s: &str) -> Result<Month, PeriodError> {
        let bad = || PeriodError::Malformed(s.to_string());
        let b = s.as_bytes();
        if b.len() != 7
            || b[4] != b'-'
            || !b
                .iter()
                .enumerate()
                .all(|(i, c)| i == 4 || c.is_ascii_digit())
        {
            return Err(bad());
        }
        let year: i32 = s[..4].parse().map_err(|_| bad())?;
        let month: u8 = s[5..].parse().map_err(|_| bad())?;
        Month::new(year, month).map_err(|_| bad())
    }

    /// Midnight UTC of the next month's first day.
    pub fn end(self) -> Instant {
        self.next().start()
    }

    /// Months from `self` to `later` (0 when equal, negative when earlier).
    pub fn months_until(self, later: Month) -> i64 {
        (i64::from(later.year) - i64::from(self.year)) * 12 + i64::from(later.month)
            - i64::from(self.month)
    }

    /// The month holding instant `t`.
    pub fn of(t: Instant) -> Month {
        let (y, m, ..) = t.to_civil();
        Month {
            year: y.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
            month: m,
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    /// Midnight UTC of the month's first day.
    pub fn start(self) -> Instant {
        Instant(days_from_civil(self.year, self.month, 1) * 86_400)
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The month as a window.
    pub fn window(self) -> Window {
        Window {
            start: self.start(),
            end: self.next().start(),
        }
    }
}

/// Why a month could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("period {0:?} is not a month: write YYYY-MM with a month from 01 to 12, e.g. 2026-03")]
    Malformed(String),
}

/// `YYYY-MM`.
impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// A non-negative amount of US dollars, exact.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Usd(Decimal);

impl Usd {
    pub const ZERO: Usd = Usd(Decimal::ZERO);
    /// A quintillion dollars: far above any deal, far below Decimal's range,
    /// so sums of amounts stay exact.
    pub const MAX: Decimal = Decimal::from_parts(2_808_348_672, 232_830_643, 0, false, 0);

    pub fn new(field: &'static str, d: Decimal) -> Result<Usd, ValueError> {
        if d > Self::MAX {
            return Err(ValueError::OutOfRange {
                field,
                value: format!("{d} (at most {} USD)", Self::MAX),
            });
        }
        if d.is_sign_negative() && !d.is_zero() {
            Err(ValueError::Negative {
                field,
                value: d.to_string(),
            })
        } else {
            Ok(Usd(d))
        }
    }

    pub fn get(self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_usd(self.0))
    }
}

/// Money as the JSON output carries it: the exact decimal with at least two
/// places (`"1234.50"`); more places are kept when the value has them.
pub fn format_usd(d: Decimal) -> String {
    let d = d.normalize();
    if d.scale() < 2 {
        let mut r = d;
        r.rescale(2);
        r.to_string()
    } else {
        d.to_string()
    }
}

/// A price in USD per GPU-hour (≥ 0).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct UsdPerGpuHour(Decimal);

impl UsdPerGpuHour {
    /// No GPU-hour costs a million dollars; the bound keeps every contract
    /// value exact within Decimal's range.
    pub const MAX: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

    pub fn new(field: &'static str, d: Decimal) -> Result<UsdPerGpuHour, ValueError> {
        if d > Self::MAX {
            return Err(ValueError::OutOfRange {
                field,
                value: format!("{d} (at most {} USD per GPU-hour)", Self::MAX),
            });
        }
        Usd::new(field, d).map(|u| UsdPerGpuHour(u.0))
    }

    pub fn get(self) -> Decimal {
        self.0
    }
}

impl fmt::Display for UsdPerGpuHour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A finite, strictly positive real (H100-equivalents per GPU, watts, MW,
/// H100e demand), at most [`Positive::MAX`].
#[derive(Clone, Copy, PartialEq, PartialOrd, Debug)]
pub struct Positive(f64);

impl Positive {
    /// A billion: past any real site's MW, any GPU's watts or H100e, and any
    /// demand. The bound is what keeps the ledger's exact power sums (W as
    /// Decimal) far inside Decimal's range: a site at 1e9 MW is 1e15 W, and
    /// u32::MAX GPUs at 1e9 W each draw 4.3e18 W, ten orders of magnitude
    /// below Decimal::MAX (7.9e28), so no sum of them can overflow.
    pub const MAX: f64 = 1e9;

    pub fn new(field: &'static str, x: f64) -> Result<Positive, ValueError> {
        if x.is_finite() && x > 0.0 && x <= Self::MAX {
            Ok(Positive(x))
        } else if x > Self::MAX {
            Err(ValueError::OutOfRange {
                field,
                // In exponent form: `{}` would print 1e300 with 300 digits.
                value: format!("{x:e} (at most {:e})", Self::MAX),
            })
        } else {
            Err(ValueError::NotPositive {
                field,
                value: x.to_string(),
            })
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// A share in [0, 1].
#[derive(Clone, Copy, PartialEq, PartialOrd, Debug)]
pub struct Share(f64);

impl Share {
    pub fn new(field: &'static str, x: f64) -> Result<Share, ValueError> {
        if x.is_finite() && (0.0..=1.0).contains(&x) {
            Ok(Share(x))
        } else {
            Err(ValueError::OutOfRange {
                field,
                value: format!("{x} (a share lies in [0, 1])"),
            })
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_pattern() {
        assert!(Id::new("cw-plano").is_ok());
        assert!(Id::new("a.b_c-9").is_ok());
        assert!(Id::new("").is_err());
        assert!(Id::new("-x").is_err());
        assert!(Id::new("Upper").is_err());
        assert!(Id::new(&"a".repeat(64)).is_ok());
        assert!(Id::new(&"a".repeat(65)).is_err());
        assert!(Id::new_gpu_class("H100").is_ok());
        assert!(Id::new_gpu_class("A100-80GB").is_ok());
        assert!(Id::new_gpu_class("h100 sxm").is_err());
    }

    #[test]
    fn civil_dates_round_trip() {
        let t = Instant::from_date(2026, 1, 1).unwrap();
        assert_eq!(t.unix_seconds(), 1_767_225_600);
        assert_eq!(t.to_string(), "2026-01-01T00:00:00Z");
        let t = Instant::from_datetime(2026, 2, 1, 6, 0, 0, 3600).unwrap();
        assert_eq!(t.to_string(), "2026-02-01T05:00:00Z");
        assert!(Instant::from_date(2025, 2, 29).is_none());
        assert!(Instant::from_date(2024, 2, 29).is_some());
        for days in [-800_000i64, -1, 0, 1, 59, 60, 11_000, 20_000, 3_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y as i32, m, d), days);
        }
    }

    #[test]
    fn windows_are_half_open_and_hours_exact() {
        let a = Instant::from_date(2026, 1, 1).unwrap();
        let b = Instant::from_date(2026, 1, 2).unwrap();
        let w = Window::new(a, b).unwrap();
        assert_eq!(w.hours(), Decimal::from(24));
        assert!(w.contains(a) && !w.contains(b));
        assert!(Window::new(b, a).is_err());
        assert!(Window::new(a, a).is_err());
    }

    #[test]
    fn months_are_calendar_months_in_utc() {
        let m = Month::new(2025, 12).unwrap();
        assert_eq!(m.to_string(), "2025-12");
        assert_eq!(m.start().to_string(), "2025-12-01T00:00:00Z");
        assert_eq!(m.next(), Month::new(2026, 1).unwrap());
        // February 2024 has 29 days: 696 hours.
        assert_eq!(
            Month::new(2024, 2).unwrap().window().hours(),
            Decimal::from(696)
        );
        let t = Instant::from_datetime(2026, 3, 31, 23, 59, 59, 0).unwrap();
        assert_eq!(Month::of(t), Month::new(2026, 3).unwrap());
        assert!(Month::new(2026, 13).is_err() && Month::new(0, 1).is_err());
        assert!(GpuDelta::new("gpus", -5).is_ok());
        assert!(GpuDelta::new("gpus", i64::from(u32::MAX) + 1).is_err());
        assert!(Positive::new("power_mw", 1e9).is_ok());
        assert!(matches!(
            Positive::new("power_mw", 1e300),
            Err(ValueError::OutOfRange { .. })
        ));
        assert!(Positive::new("watts", f64::INFINITY).is_err());
        assert!(MwDelta::new("power_mw", -2e6).is_err());
    }

    #[test]
    fn money_is_bounded() {
        assert_eq!(Usd::MAX.to_string(), "1000000000000000000");
        assert_eq!(UsdPerGpuHour::MAX.to_string(), "1000000");
        assert!(Usd::new("usd", Usd::MAX).is_ok());
        assert!(Usd::new("usd", Usd::MAX + Decimal::ONE).is_err());
        assert!(UsdPerGpuHour::new("p", Decimal::from(1_000_001)).is_err());
    }

    #[test]
    fn money_formats_with_two_places() {
        assert_eq!(format_usd(Decimal::new(123450, 2)), "1234.50");
        assert_eq!(format_usd(Decimal::from(7)), "7.00");
        assert_eq!(format_usd(Decimal::new(12345, 3)), "12.345");
    }
}
