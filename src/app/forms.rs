//! Forms: what a button or `/scope` asks for before it runs (a rejection reason, a ticket's
//! effort and price, an earlier start date). Declared once here, checked once here, and rendered
//! by each adapter from `Form::fields` (a Slack modal, a Discord modal, console prompts), so the
//! platforms cannot drift apart.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::domain::input::{self, InputError};
use crate::domain::ticket::TicketChange;

/// Every form the bot can ask someone to fill in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    RejectApproval,
    EarlyStart,
    ScopeTicket,
    DeclineTicket,
    /// `/scope` typed without a description.
    ScopeRequest,
}

/// How a field's value is read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Line,
    Paragraph,
    Date,
    Hours,
    Money,
}

/// One input of a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The key the value comes back under (a Slack `block_id`, a Discord `custom_id`, `key=`).
    pub key: &'static str,
    pub label: &'static str,
    /// How the field is named in an error ("The effort (hours) is required.").
    pub noun: &'static str,
    pub kind: FieldKind,
    pub required: bool,
}

impl Field {
    pub fn multiline(&self) -> bool {
        self.kind == FieldKind::Paragraph
    }

    /// The message for `value`, or `None` when it is acceptable.
    fn problem(&self, value: &str) -> Option<String> {
        let checked = match self.kind {
            FieldKind::Line | FieldKind::Paragraph => input::optional_text(value).map(|_| ()),
            FieldKind::Date => input::date(value).map(|_| ()),
            FieldKind::Hours => input::effort_hours(value).map(|_| ()),
            FieldKind::Money => input::price(value).map(|_| ()),
        };
        match checked {
            _ if value.trim().is_empty() && self.required => {
                Some(format!("The {} is required.", self.noun))
            }
            _ if value.trim().is_empty() => None,
            Err(error) => Some(format!("The {} {error}.", self.noun)),
            Ok(()) => None,
        }
    }
}

const fn field(
    key: &'static str,
    label: &'static str,
    noun: &'static str,
    kind: FieldKind,
    required: bool,
) -> Field {
    Field { key, label, noun, kind, required }
}

const REASON: [Field; 1] = [field("reason", "Reason", "reason", FieldKind::Paragraph, true)];
const DECLINE_REASON: [Field; 1] =
    [field("reason", "Why it is declined", "reason", FieldKind::Paragraph, true)];
const START_DATE: [Field; 1] =
    [field("date", "Start date (YYYY-MM-DD)", "start date", FieldKind::Date, true)];
const SCOPING: [Field; 3] = [
    field("effort", "Effort (hours)", "effort (hours)", FieldKind::Hours, true),
    field("price", "Price", "price", FieldKind::Money, true),
    field("notes", "Notes", "notes", FieldKind::Paragraph, false),
];
const SCOPE_REQUEST: [Field; 2] = [
    field("description", "What needs scoping?", "description", FieldKind::Paragraph, true),
    field("deal", "Deal (optional)", "deal", FieldKind::Line, false),
];

/// A field that was not filled in as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub key: &'static str,
    pub message: String,
}

/// A form's values, checked and typed.
#[derive(Debug, Clone, PartialEq)]
pub enum FormInput {
    Reason(String),
    StartDate(NaiveDate),
    Scoping(TicketChange),
    ScopeRequest { description: String, deal: Option<String> },
}

impl Form {
    pub fn title(self) -> &'static str {
        match self {
            Form::RejectApproval => "Reject the request",
            Form::EarlyStart => "Ask for an earlier start",
            Form::ScopeTicket => "Scope the ticket",
            Form::DeclineTicket => "Decline the ticket",
            Form::ScopeRequest => "Open a scoping ticket",
        }
    }

    pub fn fields(self) -> &'static [Field] {
        match self {
            Form::RejectApproval => &REASON,
            Form::EarlyStart => &START_DATE,
            Form::ScopeTicket => &SCOPING,
            Form::DeclineTicket => &DECLINE_REASON,
            Form::ScopeRequest => &SCOPE_REQUEST,
        }
    }

    /// Checks `values` (by field key) and types them; every field's problem at once otherwise.
    /// Keys the form does not declare are refused, so a typo is not silently dropped.
    pub fn check(self, values: &HashMap<String, String>) -> Result<FormInput, Vec<FieldError>> {
        let fields = self.fields();
        let mut errors: Vec<FieldError> = fields
            .iter()
            .filter_map(|f| {
                f.problem(text(values, f.key)).map(|message| FieldError { key: f.key, message })
            })
            .collect();
        let mut unknown: Vec<&String> =
            values.keys().filter(|k| !fields.iter().any(|f| f.key == k.as_str())).collect();
        unknown.sort();
        for key in unknown {
            let known = fields.iter().map(|f| format!("{}=", f.key)).collect::<Vec<_>>().join(", ");
            errors.push(FieldError {
                key: "",
                message: format!("Unknown field '{key}': this form takes {known}."),
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        self.typed(values)
            .map_err(|(key, error)| vec![FieldError { key, message: error.to_string() }])
    }

    fn typed(
        self,
        values: &HashMap<String, String>,
    ) -> Result<FormInput, (&'static str, InputError)> {
        let get = |key: &'static str| text(values, key);
        let at = |key: &'static str| move |error| (key, error);
        Ok(match self {
            Form::RejectApproval | Form::DeclineTicket => {
                FormInput::Reason(input::required_text(get("reason")).map_err(at("reason"))?)
            }
            Form::EarlyStart => FormInput::StartDate(input::date(get("date")).map_err(at("date"))?),
            Form::ScopeTicket => FormInput::Scoping(TicketChange {
                effort_hours: Some(input::effort_hours(get("effort")).map_err(at("effort"))?),
                price: Some(input::price(get("price")).map_err(at("price"))?),
                notes: input::optional_text(get("notes")).map_err(at("notes"))?,
                reason: None,
            }),
            Form::ScopeRequest => FormInput::ScopeRequest {
                description: input::required_text(get("description")).map_err(at("description"))?,
                deal: input::optional_text(get("deal")).map_err(at("deal"))?,
            },
        })
    }
}

fn text<'a>(values: &'a HashMap<String, String>, key: &str) -> &'a str {
    values.get(key).map(String::as_str).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn messages(result: Result<FormInput, Vec<FieldError>>) -> Vec<(String, String)> {
        result.unwrap_err().into_iter().map(|e| (e.key.to_string(), e.message)).collect()
    }

    #[test]
    fn an_empty_reason_is_refused_by_name() {
        assert_eq!(
            messages(Form::RejectApproval.check(&values(&[("reason", "  ")]))),
            [("reason".into(), "The reason is required.".into())]
        );
    }

    #[test]
    fn scoping_gives_typed_effort_price_and_notes() {
        let input = Form::ScopeTicket.check(&values(&[
            ("effort", "1,200"),
            ("price", "$18,000"),
            ("notes", " two approval levels "),
        ]));
        let expected = TicketChange {
            effort_hours: Some(1200.0),
            price: Some(18000.0),
            notes: Some("two approval levels".into()),
            reason: None,
        };
        assert_eq!(input, Ok(FormInput::Scoping(expected)));
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let errors =
            messages(Form::ScopeTicket.check(&values(&[("effort", "-3"), ("price", "cheap")])));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(
            errors[0],
            ("effort".into(), "The effort (hours) must be positive; got '-3'.".into())
        );
        assert!(errors[1].1.contains("price") && errors[1].1.contains("cheap"), "{errors:?}");
    }

    #[test]
    fn a_bad_date_is_refused_by_name() {
        let errors = messages(Form::EarlyStart.check(&values(&[("date", "next week")])));
        assert!(
            errors[0].1.contains("start date") && errors[0].1.contains("next week"),
            "{errors:?}"
        );
        assert_eq!(
            Form::EarlyStart.check(&values(&[("date", "2027-01-04")])),
            Ok(FormInput::StartDate("2027-01-04".parse().unwrap()))
        );
    }

    #[test]
    fn unknown_fields_are_refused_not_ignored() {
        let errors =
            messages(Form::RejectApproval.check(&values(&[("reason", "late"), ("reasn", "x")])));
        assert!(errors[0].1.contains("reasn") && errors[0].1.contains("reason="), "{errors:?}");
    }
}
