//! Every button a reply can carry, typed. On the wire (Slack `action_id`, Discord `custom_id`,
//! the console's `act`) an action is `verb:subject`; past `FromStr` it is an `Action`, and
//! `App::perform` dispatches it with one `match`. Which actions ask for a form first is said
//! here too (`Action::form`).

use std::fmt;
use std::str::FromStr;

use super::forms::Form;

/// A button's action, with the id of what it acts on (an offer, an approval, a ticket, a handover).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// Record an earliest-start answer's start on the deal.
    CommitStart(String),
    /// Record a comparables answer's deadline on the deal (when the rule supports it).
    CommitDeadline(String),
    /// Add an inclusion answer's deliverable to the deal's scope.
    AddScope(String),
    /// Book an earliest-start answer's staffing tentatively for the deal.
    Hold(String),
    /// Ask leadership to approve a deadline the rule does not support.
    RequestApproval(String),
    /// Ask leadership to approve a start before the earliest start (asks for the date).
    RequestEarlyStart(String),
    /// Open a scoping ticket for an item not in the library.
    OpenTicket(String),
    /// Answer the inclusion question for a near match the answer suggested.
    AnswerFor(String),
    Approve(String),
    /// Reject an approval request (asks for the reason).
    Reject(String),
    AcceptTicket(String),
    /// Scope a ticket (asks for effort, price and notes).
    ScopeTicket(String),
    /// Decline a ticket (asks for the reason).
    DeclineTicket(String),
    AddToLibrary(String),
    AcknowledgeHandover(String),
    /// Acknowledge the weekly digest of a week (`2027-W10`) on behalf of leadership.
    AcknowledgeDigest(String),
}

/// Makes an action from its subject.
type Make = fn(String) -> Action;

/// The wire verbs, in one table.
const VERBS: &[(&str, Make)] = &[
    ("commit_start", Action::CommitStart),
    ("commit_deadline", Action::CommitDeadline),
    ("add_scope", Action::AddScope),
    ("hold", Action::Hold),
    ("request_approval", Action::RequestApproval),
    ("request_early_start", Action::RequestEarlyStart),
    ("open_ticket", Action::OpenTicket),
    ("answer_for", Action::AnswerFor),
    ("approve", Action::Approve),
    ("reject", Action::Reject),
    ("accept_ticket", Action::AcceptTicket),
    ("scope_ticket", Action::ScopeTicket),
    ("decline_ticket", Action::DeclineTicket),
    ("add_to_library", Action::AddToLibrary),
    ("ack_handover", Action::AcknowledgeHandover),
    ("ack_digest", Action::AcknowledgeDigest),
];

impl Action {
    /// The verb of the wire form (`approve` in `approve:A1`).
    pub fn verb(&self) -> &'static str {
        match self {
            Action::CommitStart(_) => "commit_start",
            Action::CommitDeadline(_) => "commit_deadline",
            Action::AddScope(_) => "add_scope",
            Action::Hold(_) => "hold",
            Action::RequestApproval(_) => "request_approval",
            Action::RequestEarlyStart(_) => "request_early_start",
            Action::OpenTicket(_) => "open_ticket",
            Action::AnswerFor(_) => "answer_for",
            Action::Approve(_) => "approve",
            Action::Reject(_) => "reject",
            Action::AcceptTicket(_) => "accept_ticket",
            Action::ScopeTicket(_) => "scope_ticket",
            Action::DeclineTicket(_) => "decline_ticket",
            Action::AddToLibrary(_) => "add_to_library",
            Action::AcknowledgeHandover(_) => "ack_handover",
            Action::AcknowledgeDigest(_) => "ack_digest",
        }
    }

    /// The id of what the action acts on.
    pub fn subject(&self) -> &str {
        match self {
            Action::CommitStart(id)
            | Action::CommitDeadline(id)
            | Action::AddScope(id)
            | Action::Hold(id)
            | Action::RequestApproval(id)
            | Action::RequestEarlyStart(id)
            | Action::OpenTicket(id)
            | Action::AnswerFor(id)
            | Action::Approve(id)
            | Action::Reject(id)
            | Action::AcceptTicket(id)
            | Action::ScopeTicket(id)
            | Action::DeclineTicket(id)
            | Action::AddToLibrary(id)
            | Action::AcknowledgeHandover(id)
            | Action::AcknowledgeDigest(id) => id,
        }
    }

    /// The form a press must fill in first (a modal on the chat platforms), if any.
    pub fn form(&self) -> Option<Form> {
        match self {
            Action::Reject(_) => Some(Form::RejectApproval),
            Action::RequestEarlyStart(_) => Some(Form::EarlyStart),
            Action::ScopeTicket(_) => Some(Form::ScopeTicket),
            Action::DeclineTicket(_) => Some(Form::DeclineTicket),
            _ => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.verb(), self.subject())
    }
}

/// A wire form that is not a known action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown action '{0}'")]
pub struct UnknownAction(pub String);

impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(wire: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownAction(wire.to_string());
        let (verb, subject) = wire.split_once(':').ok_or_else(unknown)?;
        let subject = subject.trim();
        if subject.is_empty()
            || subject.len() > 64
            || !subject.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(unknown());
        }
        let (_, make) = VERBS.iter().find(|(known, _)| *known == verb).ok_or_else(unknown)?;
        Ok(make(subject.to_string()))
    }
}

impl serde::Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = String::deserialize(deserializer)?;
        wire.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verb_round_trips_through_its_wire_form() {
        for (verb, make) in VERBS {
            let action = make("X1".into());
            assert_eq!(action.verb(), *verb);
            assert_eq!(action.to_string(), format!("{verb}:X1"));
            assert_eq!(action.to_string().parse::<Action>(), Ok(action));
        }
    }

    #[test]
    fn unknown_or_malformed_wire_forms_are_refused() {
        for wire in ["approve", "launch:A1", "approve:", "approve:A 1", "approve:<!channel>", ""] {
            assert!(wire.parse::<Action>().is_err(), "{wire}");
        }
    }

    #[test]
    fn the_actions_that_need_input_name_their_form() {
        assert_eq!(Action::Reject("A1".into()).form(), Some(Form::RejectApproval));
        assert_eq!(Action::ScopeTicket("T1".into()).form(), Some(Form::ScopeTicket));
        assert_eq!(Action::Approve("A1".into()).form(), None);
    }
}
