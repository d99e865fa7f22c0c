//! Modal submissions: check the fields a form asks for (a reason given, effort and price as
//! numbers, a date as YYYY-MM-DD) before the action runs, naming the field that is wrong.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::commands::quote;
use super::render::SCOPE_MODAL;
use crate::app::reply::{Action, InputField};

/// What a valid submission runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// A command line for `App::ask`.
    Ask(String),
    /// A button's action for `App::act`, with the form's fields.
    Act(String, HashMap<String, String>),
}

/// Checks the submission of modal `custom_id`; `Err` is the message to show the submitter.
pub fn submission(custom_id: &str, values: &HashMap<String, String>) -> Result<Work, String> {
    let value = |key: &str| values.get(key).map(|v| v.trim()).unwrap_or_default();
    if custom_id == SCOPE_MODAL {
        let description = value("description");
        if description.is_empty() {
            return Err("The description is required: say what needs scoping.".into());
        }
        let mut line = format!("/scope {}", quote(description));
        if !value("deal").is_empty() {
            line.push_str(&format!(" deal={}", quote(value("deal"))));
        }
        return Ok(Work::Ask(line));
    }
    let fields: &[InputField] = Action::needs_input(custom_id).unwrap_or(&[]);
    let mut checked = HashMap::new();
    for field in fields {
        let given = value(field.key);
        if given.is_empty() {
            if field.required {
                return Err(format!("The {} is required.", noun(field.key)));
            }
            continue;
        }
        check(field.key, given)?;
        checked.insert(field.key.to_string(), given.to_string());
    }
    // Fields the action does not declare are passed along untouched.
    for (key, given) in values {
        checked.entry(key.clone()).or_insert_with(|| given.trim().to_string());
    }
    Ok(Work::Act(custom_id.to_string(), checked))
}

fn check(key: &str, given: &str) -> Result<(), String> {
    match key {
        "effort" | "price" => {
            let number = given.trim_start_matches('$').replace(',', "").parse::<f64>().ok().filter(|n| n.is_finite());
            match number {
                Some(n) if key == "effort" && n <= 0.0 => Err(format!("The {} must be more than 0, not '{given}'.", noun(key))),
                Some(n) if n < 0.0 => Err(format!("The {} cannot be negative ('{given}').", noun(key))),
                Some(_) => Ok(()),
                None => Err(format!("The {} must be a number, not '{given}'.", noun(key))),
            }
        }
        "date" => NaiveDate::parse_from_str(given, "%Y-%m-%d")
            .ok()
            .filter(|_| given.len() == 10)
            .map(|_| ())
            .ok_or_else(|| format!("The {} must be a date like 2027-01-04, not '{given}'.", noun(key))),
        _ => Ok(()),
    }
}

/// How a field is named in messages.
fn noun(key: &str) -> &str {
    match key {
        "effort" => "effort (hours)",
        "date" => "start date",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn an_empty_reason_is_refused_by_name() {
        let error = submission("reject:A1", &fields(&[("reason", "  ")])).unwrap_err();
        assert_eq!(error, "The reason is required.");
    }

    #[test]
    fn effort_and_price_must_be_numbers() {
        let error = submission("scope_ticket:T1", &fields(&[("effort", "lots"), ("price", "100")])).unwrap_err();
        assert!(error.contains("effort") && error.contains("lots"), "{error}");
        let error = submission("scope_ticket:T1", &fields(&[("effort", "40"), ("price", "cheap")])).unwrap_err();
        assert!(error.contains("price"), "{error}");
        let work = submission("scope_ticket:T1", &fields(&[("effort", "40"), ("price", "$2,400"), ("notes", "")])).unwrap();
        assert_eq!(work, Work::Act("scope_ticket:T1".into(), fields(&[("effort", "40"), ("price", "$2,400"), ("notes", "")])));
    }

    #[test]
    fn a_bad_date_is_refused_by_name() {
        let error = submission("request_early_start:o1", &fields(&[("date", "next week")])).unwrap_err();
        assert!(error.contains("start date") && error.contains("next week"), "{error}");
        assert!(submission("request_early_start:o1", &fields(&[("date", "2027-1-4")])).is_err());
        assert!(submission("request_early_start:o1", &fields(&[("date", "2027-01-04")])).is_ok());
    }

    #[test]
    fn the_scope_form_becomes_a_scope_command() {
        let work = submission(SCOPE_MODAL, &fields(&[("description", "SSO with \"Okta\""), ("deal", "acme")])).unwrap();
        assert_eq!(work, Work::Ask("/scope \"SSO with 'Okta'\" deal=acme".into()));
        assert!(submission(SCOPE_MODAL, &fields(&[("description", "")])).is_err());
    }
}
