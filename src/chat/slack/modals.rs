//! Modals: the views opened for buttons that need input (a rejection reason, a ticket's effort
//! and price, an earlier start date) and for `/scope` without text, and the reading and checking
//! of their submissions. Each input's `block_id` is the field's key, so field-level errors map
//! straight back to the input Slack shows them under.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use slack_morphism::prelude::*;

use crate::app::forms::{Field, FieldKind, Form, FormInput};

/// `callback_id` of a modal that completes a button's action.
pub(crate) const ACTION_CALLBACK: &str = "keepable_action";
/// `callback_id` of the `/scope` details modal.
pub(crate) const SCOPE_CALLBACK: &str = "keepable_scope";

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
        serde_json::from_str(metadata).unwrap_or_else(|_| ModalContext {
            action: Some(metadata.to_string()).filter(|a| !a.is_empty()),
            channel: None,
        })
    }
}

/// The modal that asks for `form` before `action_id` runs.
pub(crate) fn action_modal(action_id: &str, form: Form, channel: &str) -> Value {
    let context = ModalContext {
        action: Some(action_id.to_string()),
        channel: Some(channel.to_string()).filter(|c| !c.is_empty()),
    };
    modal(form, ACTION_CALLBACK, &context)
}

/// The modal `/scope` opens when typed without a description.
pub(crate) fn scope_modal(channel: &str) -> Value {
    let context =
        ModalContext { action: None, channel: Some(channel.to_string()).filter(|c| !c.is_empty()) };
    modal(Form::ScopeRequest, SCOPE_CALLBACK, &context)
}

fn modal(form: Form, callback_id: &str, context: &ModalContext) -> Value {
    let blocks: Vec<SlackBlock> = form.fields().iter().map(input).collect();
    let view = SlackView::Modal(
        SlackModalView::new(pt!(super::blocks::clip(form.title(), TITLE_MAX)), blocks)
            .with_submit(pt!("Submit"))
            .with_close(pt!("Cancel"))
            .with_callback_id(SlackCallbackId(callback_id.to_string()))
            .with_private_metadata(context.encode()),
    );
    serde_json::to_value(view).unwrap_or(Value::Null)
}

fn input(field: &Field) -> SlackBlock {
    let action_id = SlackActionId(field.key.to_string());
    let element: SlackInputBlockElement = if field.kind == FieldKind::Date {
        SlackBlockDatePickerElement::new()
            .with_action_id(action_id)
            .with_placeholder(pt!("YYYY-MM-DD"))
            .into()
    } else {
        SlackBlockPlainTextInputElement::new()
            .with_action_id(action_id)
            .with_multiline(field.multiline())
            .into()
    };
    SlackInputBlock::new(pt!(field.label), element)
        .with_block_id(SlackBlockId(field.key.to_string()))
        .with_optional(!field.required)
        .into()
}

/// A view's `state` as Slack submits it: inputs by block id, then by action id.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ViewState {
    values: HashMap<String, HashMap<String, InputValue>>,
}

/// One input's value: text inputs give `value`, date pickers `selected_date`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct InputValue {
    value: Option<String>,
    selected_date: Option<String>,
}

/// The submitted values by block id (the form's field keys).
pub(crate) fn submitted_values(state: &ViewState) -> HashMap<String, String> {
    state
        .values
        .iter()
        .map(|(block_id, inputs)| {
            // One input per block: its action id is the field key, but any single input will do.
            let chosen = inputs.get(block_id).or_else(|| inputs.values().next());
            let text = chosen
                .and_then(|v| v.value.clone().or_else(|| v.selected_date.clone()))
                .unwrap_or_default();
            (block_id.clone(), text.trim().to_string())
        })
        .collect()
}

/// The submission checked by the form's own rules: its typed values and the fields the form
/// declares, or the problems by block id (Slack shows each under its input).
pub(crate) fn validate(
    form: Form,
    values: &HashMap<String, String>,
) -> Result<(FormInput, HashMap<String, String>), HashMap<String, String>> {
    let declared: HashMap<String, String> = values
        .iter()
        .filter(|(key, _)| form.fields().iter().any(|f| f.key == key.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match form.check(&declared) {
        Ok(input) => Ok((input, declared)),
        Err(errors) => Err(errors.into_iter().map(|e| (e.key.to_string(), e.message)).collect()),
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
        let view = action_modal("scope_ticket:T1", Form::ScopeTicket, "C1");
        assert_eq!(view["type"], "modal");
        assert_eq!(view["callback_id"], ACTION_CALLBACK);
        let context = ModalContext::decode(view["private_metadata"].as_str().unwrap());
        assert_eq!(context.action.as_deref(), Some("scope_ticket:T1"));
        assert_eq!(context.channel.as_deref(), Some("C1"));
        let block_ids: Vec<&str> = view["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["block_id"].as_str().unwrap())
            .collect();
        assert_eq!(block_ids, ["effort", "price", "notes"]);
        assert_eq!(view["blocks"][2]["optional"], true);
    }

    #[test]
    fn bare_metadata_is_the_action_id() {
        assert_eq!(ModalContext::decode("reject:A1").action.as_deref(), Some("reject:A1"));
    }

    #[test]
    fn bad_input_gets_an_error_under_its_field() {
        let errors = validate(
            Form::ScopeTicket,
            &values(&[("effort", "lots"), ("price", "$4,800"), ("notes", "")]),
        )
        .unwrap_err();
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["effort"]);
        let errors = validate(Form::RejectApproval, &values(&[("reason", "  ")])).unwrap_err();
        assert_eq!(errors["reason"], "The reason is required.");
        assert!(validate(Form::EarlyStart, &values(&[("date", "next week")]))
            .unwrap_err()
            .contains_key("date"));
        assert!(validate(Form::EarlyStart, &values(&[("date", "2027-01-11")])).is_ok());
    }

    #[test]
    fn submitted_values_are_read_by_block() {
        let state = json!({"values": {
            "reason": {"reason": {"type": "plain_text_input", "value": " too short "}},
            "date": {"date": {"type": "datepicker", "selected_date": "2027-01-11"}}
        }});
        let read = submitted_values(&serde_json::from_value(state).unwrap());
        assert_eq!(read["reason"], "too short");
        assert_eq!(read["date"], "2027-01-11");
    }
}
