//! Exact hours: SPEC 4.1 asks for exact comparisons, so hours are integer thousandths.

use std::fmt;
use std::ops::{Add, Mul, Sub};

/// A quantity of hours held exactly as thousandths of an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hours(i64);

impl Hours {
    pub const ZERO: Hours = Hours(0);

    pub fn from_millis(millis: i64) -> Self {
        Hours(millis)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// From a float read back from the database (which stores what was parsed from the CSV).
    pub fn from_f64(hours: f64) -> Self {
        Hours((hours * 1000.0).round() as i64)
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Parses a decimal such as `16`, `7.5` or `0.125`; at most three decimals.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        if !whole.chars().all(|c| c.is_ascii_digit())
            || !fraction.chars().all(|c| c.is_ascii_digit())
            || fraction.len() > 3
            || whole.len() > 12
        {
            return None;
        }
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
        let fraction_millis: i64 = format!("{fraction:0<3}").parse().ok()?;
        let millis = whole * 1000 + fraction_millis;
        Some(Hours(if negative { -millis } else { millis }))
    }
}

impl Add for Hours {
    type Output = Hours;
    fn add(self, other: Hours) -> Hours {
        Hours(self.0 + other.0)
    }
}

impl Sub for Hours {
    type Output = Hours;
    fn sub(self, other: Hours) -> Hours {
        Hours(self.0 - other.0)
    }
}

impl Mul<i64> for Hours {
    type Output = Hours;
    fn mul(self, factor: i64) -> Hours {
        Hours(self.0 * factor)
    }
}

impl serde::Serialize for Hours {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

impl fmt::Display for Hours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 % 1000 == 0 {
            write!(f, "{}", self.0 / 1000)
        } else {
            let text = format!("{:.3}", self.as_f64());
            write!(f, "{}", text.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(Hours::parse("16"), Some(Hours(16_000)));
        assert_eq!(Hours::parse("1.6"), Some(Hours(1_600)));
        assert_eq!(Hours::parse(".5"), Some(Hours(500)));
        assert_eq!(Hours::parse("-2"), Some(Hours(-2_000)));
        assert_eq!(Hours::parse("1.2345"), None);
        assert_eq!(Hours::parse("abc"), None);
        assert_eq!(Hours::parse(""), None);
        assert_eq!(Hours::parse("1e3"), None);
    }

    #[test]
    fn three_times_one_point_six_is_four_point_eight() {
        assert!(Hours::parse("1.6").unwrap() * 3 >= Hours::parse("4.8").unwrap());
    }

    #[test]
    fn displays_without_trailing_zeros() {
        assert_eq!(Hours(16_000).to_string(), "16");
        assert_eq!(Hours(7_500).to_string(), "7.5");
    }
}
