//! Errors meant for people (shown in chat) kept apart from internal failures (logged, never shown).

use chrono::NaiveDate;

use crate::store::StoreError;

/// A mistake the person asking can fix; its `Display` is what they read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UserError {
    #[error("Unknown command '{command}'.{}", suggestion.map(|s| format!(" Did you mean /{s}? Usage: {}", super::command::syntax_of(s))).unwrap_or_else(|| " Type /keepable help to see the commands.".into()))]
    UnknownCommand { command: String, suggestion: Option<&'static str> },
    #[error("Unknown option '{option}='. Usage: {syntax}")]
    UnknownOption { option: String, syntax: &'static str },
    #[error("Missing {what}. Usage: {syntax}")]
    Missing { what: &'static str, syntax: &'static str },
    #[error("'{value}' is not a date for {option}=: write YYYY-MM-DD, for example {option}=2027-06-30. Usage: {syntax}")]
    BadDate { option: &'static str, value: String, syntax: &'static str },
    #[error("'{value}' is not a valid number for {option}=. Usage: {syntax}")]
    BadNumber { option: &'static str, value: String, syntax: &'static str },
    #[error("The deadline {deadline} is before the start {start}.")]
    DeadlineBeforeStart { start: NaiveDate, deadline: NaiveDate },
    #[error("{message}. Usage: {syntax}")]
    Syntax { message: String, syntax: &'static str },
    #[error("Unknown package '{given}'.{} Known packages: {known}.", suggestion.as_ref().map(|s| format!(" Did you mean {s}?")).unwrap_or_default())]
    UnknownPackage { given: String, suggestion: Option<String>, known: String },
    #[error("Unknown role '{given}'. Known roles: {known}.")]
    UnknownRole { given: String, known: String },
    #[error("No package has been imported yet: run `keepable import DIR` first.")]
    NoPackages,
    #[error("{0}")]
    Refused(String),
    #[error("Unknown deal '{0}'. /deal show lists the deal bound to this channel; /deal new creates one.")]
    UnknownDeal(String),
    #[error("No deal is bound to this channel: start one with /deal new <name> package=<package>, or add deal=<deal>.")]
    NoDeal,
    #[error("That button has expired or does not belong to you; ask again.")]
    UnknownAction,
    #[error("Someone else changed this at the same moment; look at it again and retry.")]
    Conflict,
}

/// What running a command or action can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    /// A conflict is someone else's change landing first: the person can look again and retry.
    /// Anything else is ours to log.
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict { .. } => AppError::User(UserError::Conflict),
            other => AppError::Internal(other.into()),
        }
    }
}

macro_rules! refusal_from {
    ($($refusal:ty),+) => {
        $(impl From<$refusal> for UserError {
            fn from(refusal: $refusal) -> Self {
                UserError::Refused(refusal.to_string())
            }
        })+
    };
}
refusal_from!(
    crate::domain::offer::OfferRefusal,
    crate::domain::deal::DealRefusal,
    crate::domain::handover::AcknowledgeRefusal,
    crate::domain::hold::HoldRefusal
);

pub type AppResult<T> = Result<T, AppError>;
