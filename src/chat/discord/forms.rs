//! Modal submissions: the form a modal showed is checked by the app's own `Form::check` before
//! anything runs, and a problem is named by its field.

use std::collections::HashMap;

use super::render::SCOPE_MODAL;
use crate::app::action::Action;
use crate::app::command::Command;
use crate::app::forms::{Form, FormInput};

/// What a valid submission runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// A typed command for `App::run`.
    Run(Command),
    /// A command line typed as text, for `App::ask`.
    Ask(String),
    /// A button's action (its wire form) for `App::act`, with the form's fields.
    Act(String, HashMap<String, String>),
}

/// Checks the submission of modal `custom_id`; `Err` is the message to show the submitter.
pub fn submission(custom_id: &str, values: &HashMap<String, String>) -> Result<Work, String> {
    let form = if custom_id == SCOPE_MODAL {
        Form::ScopeRequest
    } else {
        let action: Action = custom_id
            .parse()
            .map_err(|_| "That form has expired; press the button again.".to_string())?;
        action.form().ok_or_else(|| "That button takes no form; press it again.".to_string())?
    };
    // Only the form's own fields go on: a modal has no others.
    let declared: HashMap<String, String> = values
        .iter()
        .filter(|(key, _)| form.fields().iter().any(|f| f.key == key.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let checked = form
        .check(&declared)
        .map_err(|errors| errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" "))?;
    Ok(match checked {
        FormInput::ScopeRequest { description, deal } => {
            Work::Run(Command::Scope { description, deal })
        }
        _ => Work::Act(custom_id.to_string(), declared),
    })
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
        let error = submission("scope_ticket:T1", &fields(&[("effort", "lots"), ("price", "100")]))
            .unwrap_err();
        assert!(error.contains("effort") && error.contains("lots"), "{error}");
        let error = submission("scope_ticket:T1", &fields(&[("effort", "40"), ("price", "cheap")]))
            .unwrap_err();
        assert!(error.contains("price"), "{error}");
        let work = submission(
            "scope_ticket:T1",
            &fields(&[("effort", "40"), ("price", "$2,400"), ("notes", "")]),
        )
        .unwrap();
        assert_eq!(
            work,
            Work::Act(
                "scope_ticket:T1".into(),
                fields(&[("effort", "40"), ("price", "$2,400"), ("notes", "")])
            )
        );
    }

    #[test]
    fn a_bad_date_is_refused_by_name() {
        let error =
            submission("request_early_start:o1", &fields(&[("date", "next week")])).unwrap_err();
        assert!(error.contains("start date") && error.contains("next week"), "{error}");
        assert!(submission("request_early_start:o1", &fields(&[("date", "2027-1-4")])).is_err());
        assert!(submission("request_early_start:o1", &fields(&[("date", "2027-01-04")])).is_ok());
    }

    #[test]
    fn the_scope_form_becomes_a_scope_command_with_its_text_whole() {
        let work = submission(
            SCOPE_MODAL,
            &fields(&[("description", "SSO with \"Okta\" role=admin"), ("deal", "acme")]),
        )
        .unwrap();
        assert_eq!(
            work,
            Work::Run(Command::Scope {
                description: "SSO with \"Okta\" role=admin".into(),
                deal: Some("acme".into())
            })
        );
        assert!(submission(SCOPE_MODAL, &fields(&[("description", "")])).is_err());
    }
}
