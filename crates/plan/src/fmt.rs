//! Numbers and time spans as planners read them: thousands separators, whole
//! H100e, months.

use cascade_core::{Instant, format_usd};
use rust_decimal::Decimal;

/// `12345678` → `12,345,678` (digits only; a leading `-` is kept).
pub fn group_thousands(digits: &str) -> String {
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", digits),
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    out.push_str(sign);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// H100e for humans: whole numbers with separators, one decimal when the
/// value is not close to a whole number (`12,000`, `3,412.5`).
pub fn human_h100e(x: f64) -> String {
    let r = x.round();
    if (x - r).abs() < 0.05 {
        group_thousands(&format!("{}", r as i64))
    } else {
        let s = format!("{x:.1}");
        let (int, frac) = s.split_once('.').unwrap_or((&s, "0"));
        format!("{}.{frac}", group_thousands(int))
    }
}

/// Money for humans: `$1,234,567.50` (exact, at least two places).
pub fn human_usd(d: Decimal) -> String {
    let s = format_usd(d);
    let (sign, s) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s.as_str()),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, "00"));
    format!("{sign}${}.{frac}", group_thousands(int))
}

fn is_midnight(t: Instant) -> bool {
    t.unix_seconds().rem_euclid(86_400) == 0
}

fn is_month_start(t: Instant) -> bool {
    let (_, _, d, h, mi, s) = t.to_civil();
    d == 1 && h == 0 && mi == 0 && s == 0
}

fn next_month(t: Instant) -> Option<Instant> {
    let (y, m, ..) = t.to_civil();
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Instant::from_date(i32::try_from(y).ok()?, m, 1)
}

/// A segment of time as a planner says it: `in 2026-03` for a whole calendar
/// month, `from 2026-03-15 to 2026-04-01` otherwise (date-times when the
/// ends are not midnight).
pub fn describe_window(start: Instant, end: Instant) -> String {
    if is_month_start(start) && next_month(start) == Some(end) {
        return format!("in {}", start.month_string());
    }
    let show = |t: Instant| {
        if is_midnight(t) {
            t.date_string()
        } else {
            t.to_string()
        }
    };
    format!("from {} to {}", show(start), show(end))
}

/// A share as a percentage with one decimal.
pub(crate) fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands() {
        assert_eq!(group_thousands("0"), "0");
        assert_eq!(group_thousands("999"), "999");
        assert_eq!(group_thousands("1000"), "1,000");
        assert_eq!(group_thousands("-1234567"), "-1,234,567");
        assert_eq!(human_h100e(12000.0), "12,000");
        assert_eq!(human_h100e(3412.5), "3,412.5");
        assert_eq!(human_usd(Decimal::new(123456750, 2)), "$1,234,567.50");
        assert_eq!(human_usd(Decimal::from(7)), "$7.00");
    }

    #[test]
    fn windows() {
        let d = |y, m, d| Instant::from_date(y, m, d).unwrap();
        assert_eq!(describe_window(d(2026, 3, 1), d(2026, 4, 1)), "in 2026-03");
        assert_eq!(describe_window(d(2026, 12, 1), d(2027, 1, 1)), "in 2026-12");
        assert_eq!(
            describe_window(d(2026, 3, 15), d(2026, 4, 1)),
            "from 2026-03-15 to 2026-04-01"
        );
        assert_eq!(
            describe_window(d(2026, 3, 1), d(2026, 6, 1)),
            "from 2026-03-01 to 2026-06-01"
        );
    }
}
