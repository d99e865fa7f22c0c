//! What a valid value typed by a person is: an effort in hours, a price, a date, a reason. One
//! set of rules for command options, modals and console prompts alike.

use chrono::NaiveDate;

/// Why a typed value is refused; its `Display` tells the person what to type instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("must be a number of hours, for example 40; got '{0}'")]
    NotHours(String),
    #[error("must be positive; got '{0}'")]
    NotPositive(String),
    #[error("must be an amount, for example 4800; got '{0}'")]
    NotMoney(String),
    #[error("must be a date written YYYY-MM-DD, for example 2027-06-30; got '{0}'")]
    NotDate(String),
    #[error("is required")]
    Missing,
    #[error("is too long: at most {max} characters")]
    TooLong { max: usize },
}

/// The longest free text a form keeps (a reason, notes, a description).
pub const MAX_TEXT: usize = 2000;

/// A number as people type it: `1,400`, `$4,800`, ` 40 `.
fn number(text: &str) -> Option<f64> {
    let cleaned: String =
        text.trim().trim_start_matches('$').chars().filter(|c| *c != ',' && *c != '_').collect();
    cleaned.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// An effort in hours: a number greater than zero.
pub fn effort_hours(text: &str) -> Result<f64, InputError> {
    match number(text) {
        None if text.trim().is_empty() => Err(InputError::Missing),
        None => Err(InputError::NotHours(text.trim().to_string())),
        Some(n) if n <= 0.0 => Err(InputError::NotPositive(text.trim().to_string())),
        Some(n) => Ok(n),
    }
}

/// A price: a number, zero or more.
pub fn price(text: &str) -> Result<f64, InputError> {
    match number(text) {
        None if text.trim().is_empty() => Err(InputError::Missing),
        None => Err(InputError::NotMoney(text.trim().to_string())),
        Some(n) if n < 0.0 => Err(InputError::NotPositive(text.trim().to_string())),
        Some(n) => Ok(n),
    }
}

/// A calendar date, `YYYY-MM-DD`.
pub fn date(text: &str) -> Result<NaiveDate, InputError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(InputError::Missing);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 10)
        .ok_or_else(|| InputError::NotDate(text.to_string()))
}

/// Free text that must be given (a reason): trimmed, not empty, not too long.
pub fn required_text(text: &str) -> Result<String, InputError> {
    match optional_text(text)? {
        Some(text) => Ok(text),
        None => Err(InputError::Missing),
    }
}

/// Free text that may be left empty (notes).
pub fn optional_text(text: &str) -> Result<Option<String>, InputError> {
    let text = text.trim();
    if text.chars().count() > MAX_TEXT {
        return Err(InputError::TooLong { max: MAX_TEXT });
    }
    Ok(Some(text.to_string()).filter(|t| !t.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_as_people_type_them() {
        assert_eq!(effort_hours("1,400"), Ok(1400.0));
        assert_eq!(price("$4,800"), Ok(4800.0));
        assert_eq!(price("0"), Ok(0.0));
    }

    #[test]
    fn bad_numbers_say_what_to_type() {
        assert_eq!(effort_hours("-3"), Err(InputError::NotPositive("-3".into())));
        assert_eq!(effort_hours("0"), Err(InputError::NotPositive("0".into())));
        assert_eq!(
            effort_hours("lots").unwrap_err().to_string(),
            "must be a number of hours, for example 40; got 'lots'"
        );
        assert_eq!(price(""), Err(InputError::Missing));
        assert_eq!(effort_hours("NaN"), Err(InputError::NotHours("NaN".into())));
    }

    #[test]
    fn dates_are_iso() {
        assert_eq!(date(" 2027-01-18 "), Ok("2027-01-18".parse().unwrap()));
        assert!(date("18/01/2027").is_err());
        assert!(date("2027-1-8").is_err());
        assert_eq!(date(""), Err(InputError::Missing));
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(required_text("  too short "), Ok("too short".into()));
        assert_eq!(required_text("   "), Err(InputError::Missing));
        assert_eq!(optional_text(""), Ok(None));
        assert_eq!(
            optional_text(&"x".repeat(MAX_TEXT + 1)),
            Err(InputError::TooLong { max: MAX_TEXT })
        );
    }
}
