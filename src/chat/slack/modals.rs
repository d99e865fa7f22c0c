//! Modals: the views opened for buttons that need input (a rejection reason, a ticket's effort
//! and price, an earlier start date) and for `/scope` without text, and the reading and checking
//! of their submissions. Each input's `block_id` is the field's key, so field-level errors map
//! straight back to the input Slack shows them under.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use slack_morphism::prelude::*;

use crate::app::reply::{Action, InputField};

/// `callback_id` of a modal that completes a button's action.
pub(crate) const ACTION_CALLBACK: &str = "keepable_action";
/// `callback_id` of the `/scope` details modal.
pub(crate) const SCOPE_CALLBACK: &str = "keepable_scope";

/// What `/scope` asks for when it is typed without a description.
pub(crate) const SCOPE_FIELDS: [InputField; 2] = [
    InputField { key: "description", label: "What needs scoping?", multiline: true, required: true },
    InputField { key: "deal", label: "Deal (optional)", multiline: false, required: false },
];

/// Slack's limit on modal titles.
const TITLE_MAX: usize = 24;

/// What a modal remembers between opening and submission (its `private_metadata`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ModalContext {
    /// The action id the modal completes (`reject:A1`); none for `/scope`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The channel the button or command was used in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

impl ModalContext {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads our JSON; bare text is taken as the action id itself.
    pub fn decode(metadata: &str) -> ModalContext {
        let metadata = metadata.trim();
        serde_json::from_str(metadata)
            .unwrap_or_else(|_| ModalContext { action: Some(metadata.to_string()).filter(|a| !a.is_empty()), channel: None })
    }
}

/// The modal that asks for `fields` before `action_id` runs.
pub(crate) fn action_modal(action_id: &str, fields: &[InputField], channel: &str) -> Value {
    let context = ModalContext { action: Some(action_id.to_string()), channel: Some(channel.to_string()).filter(|c| !c.is_empty()) };
    modal(title_for(action_id), ACTION_CALLBACK, fields, &context)
}

/// The modal `/scope` opens when typed without a description.
pub(crate) fn scope_modal(channel: &str) -> Value {
    let context = ModalContext { action: None, channel: Some(channel.to_string()).filter(|c| !c.is_empty()) };
    modal("Open a scoping ticket", SCOPE_CALLBACK, &SCOPE_FIELDS, &context)
}

fn modal(title: &str, callback_id: &str, fields: &[InputField], context: &ModalContext) -> Value {
    let blocks: Vec<SlackBlock> = fields.iter().map(input).collect();
    let view = SlackView::Modal(
        SlackModalView::new(pt!(super::blocks::clip(title, TITLE_MAX)), blocks)
            .with_submit(pt!("Submit"))
            .with_close(pt!("Cancel"))
            .with_callback_id(SlackCallbackId(callback_id.to_string()))
            .with_private_metadata(context.encode()),
    );
    serde_json::to_value(view).unwrap_or(Value::Null)
}

fn input(field: &InputField) -> SlackBlock {
    let action_id = SlackActionId(field.key.to_string());
    let element: SlackInputBlockElement = if field.key == "date" {
        SlackBlockDatePickerElement::new().with_action_id(action_id).with_placeholder(pt!("YYYY-MM-DD")).into()
    } else {
        SlackBlockPlainTextInputElement::new().with_action_id(action_id).with_multiline(field.multiline).into()
    };
    SlackInputBlock::new(pt!(field.label), element).with_block_id(SlackBlockId(field.key.to_string())).with_optional(!field.required).into()
}

fn title_for(action_id: &str) -> &'static str {
    match Action::verb(action_id) {
        "reject" => "Reject the request",
        "decline_ticket" => "Decline the ticket",
        "scope_ticket" => "Scope the ticket",
        "request_early_start" => "Ask for an earlier start",
        _ => "Keepable",
    }
}

/// The submitted values by block id, from a view's `state.values`; text inputs give `value`,
/// date pickers `selected_date`.
pub(crate) fn submitted_values(state: &Value) -> HashMap<String, String> {
    let mut values = HashMap::new();
    let Some(blocks) = state.get("values").and_then(Value::as_object) else { return values };
    for (block_id, actions) in blocks {
        let Some(actions) = actions.as_object() else { continue };
        // One input per block: its action id is the field key, but any single input will do.
        let chosen = actions.get(block_id.as_str()).or_else(|| actions.values().next());
        let text = chosen.and_then(|v| v.get("value").or_else(|| v.get("selected_date"))).and_then(Value::as_str).unwrap_or_default();
        values.insert(block_id.clone(), text.trim().to_string());
    }
    values
}

/// Field-level problems with a submission, by block id; empty when it can go to the app.
pub(crate) fn validate(fields: &[InputField], values: &HashMap<String, String>) -> HashMap<String, String> {
    let mut errors = HashMap::new();
    for field in fields {
        let value = values.get(field.key).map(String::as_str).unwrap_or_default().trim();
        let problem = if value.is_empty() {
            field.required.then(|| match field.key {
                "reason" => "Please give a reason.".to_string(),
                key => format!("Please fill in {}.", label_of(key, field.label)),
            })
        } else {
            check_format(field.key, value)
        };
        if let Some(problem) = problem {
            errors.insert(field.key.to_string(), problem);
        }
    }
    errors
}

fn label_of(key: &str, label: &str) -> String {
    match key {
        "effort" => "the effort in hours".into(),
        "price" => "the price".into(),
        "date" => "the date".into(),
        _ => label.to_lowercase(),
    }
}

/// Numbers may carry a currency sign and thousands separators, as people type them.
fn check_format(key: &str, value: &str) -> Option<String> {
    let number = || value.trim_start_matches('$').replace(',', "").trim().parse::<f64>().ok().filter(|n| n.is_finite());
    match key {
        "effort" => match number() {
            Some(hours) if hours > 0.0 => None,
            Some(_) => Some("Effort must be more than 0 hours.".into()),
            None => Some(format!("'{value}' is not a number of hours, for example 40.")),
        },
        "price" => match number() {
            Some(price) if price >= 0.0 => None,
            Some(_) => Some("The price cannot be negative.".into()),
            None => Some(format!("'{value}' is not a price, for example 4800.")),
        },
        "date" => match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            Ok(_) => None,
            Err(_) => Some(format!("'{value}' is not a date: write YYYY-MM-DD, for example 2027-01-11.")),
        },
        _ => None,
    }
}

/// The `view_submission` answer that keeps the modal open with `errors` under their inputs.
pub(crate) fn errors_response(errors: &HashMap<String, String>) -> Value {
    json!({ "response_action": "errors", "errors": errors })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_modal_carries_its_action_and_one_input_per_field() {
        let fields = Action::needs_input("scope_ticket:T1").unwrap();
        let view = action_modal("scope_ticket:T1", fields, "C1");
        assert_eq!(view["type"], "modal");
        assert_eq!(view["callback_id"], ACTION_CALLBACK);
        let context = ModalContext::decode(view["private_metadata"].as_str().unwrap());
        assert_eq!(context.action.as_deref(), Some("scope_ticket:T1"));
        assert_eq!(context.channel.as_deref(), Some("C1"));
        let block_ids: Vec<&str> = view["blocks"].as_array().unwrap().iter().map(|b| b["block_id"].as_str().unwrap()).collect();
        assert_eq!(block_ids, ["effort", "price", "notes"]);
        assert_eq!(view["blocks"][2]["optional"], true);
    }

    #[test]
    fn bare_metadata_is_the_action_id() {
        assert_eq!(ModalContext::decode("reject:A1").action.as_deref(), Some("reject:A1"));
    }

    #[test]
    fn bad_input_gets_an_error_under_its_field() {
        let scope = Action::needs_input("scope_ticket:T1").unwrap();
        let errors = validate(scope, &values(&[("effort", "lots"), ("price", "$4,800"), ("notes", "")]));
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["effort"]);
        let reject = Action::needs_input("reject:A1").unwrap();
        assert_eq!(validate(reject, &values(&[("reason", "  ")]))["reason"], "Please give a reason.");
        let date = Action::needs_input("request_early_start:o1").unwrap();
        assert!(validate(date, &values(&[("date", "next week")])).contains_key("date"));
        assert!(validate(date, &values(&[("date", "2027-01-11")])).is_empty());
    }

    #[test]
    fn submitted_values_are_read_by_block() {
        let state = json!({"values": {
            "reason": {"reason": {"type": "plain_text_input", "value": " too short "}},
            "date": {"date": {"type": "datepicker", "selected_date": "2027-01-11"}}
        }});
        let read = submitted_values(&state);
        assert_eq!(read["reason"], "too short");
        assert_eq!(read["date"], "2027-01-11");
    }
}
