//! Errors meant for people (shown in chat) kept apart from internal failures (logged, never shown).

use chrono::NaiveDate;

use super::text::user;
use crate::store::StoreError;

/// A mistake the person asking can fix; its `Display` is what they read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UserError {
    #[error("Unknown command '{}'.{}", user(command), suggestion.map(|s| format!(" Did you mean /{s}? Usage: {}", super::command::syntax_of(s))).unwrap_or_else(|| " Type /keepable help to see the commands.".into()))]
    UnknownCommand { command: String, suggestion: Option<&'static str> },
    #[error("Unknown option '{}='. Usage: {syntax}", user(option))]
    UnknownOption { option: String, syntax: &'static str },
    #[error("Missing {what}. Usage: {syntax}")]
    Missing { what: &'static str, syntax: &'static str },
    #[error("'{}' is not a date for {option}=: write YYYY-MM-DD, for example {option}=2027-06-30. Usage: {syntax}", user(value))]
    BadDate { option: &'static str, value: String, syntax: &'static str },
    #[error("'{}' is not a valid number for {option}=. Usage: {syntax}", user(value))]
    BadNumber { option: &'static str, value: String, syntax: &'static str },
    #[error("The deadline {deadline} is before the start {start}: a project cannot end before it starts. Give a later deadline, or start= an earlier start.")]
    DeadlineBeforeStart { start: NaiveDate, deadline: NaiveDate },
    #[error(
        "The deadline {deadline} is not in the future (today is {today}): give a date after today."
    )]
    DeadlineInThePast { deadline: NaiveDate, today: NaiveDate },
    #[error("{message}. Usage: {syntax}")]
    Syntax { message: String, syntax: &'static str },
    #[error("Unknown package '{}'.{} Known packages: {known}.", user(given), suggestion.as_ref().map(|s| format!(" Did you mean {s}?")).unwrap_or_default())]
    UnknownPackage { given: String, suggestion: Option<String>, known: String },
    #[error("Unknown role '{}'. Known roles: {known}.", user(given))]
    UnknownRole { given: String, known: String },
    #[error("No package has been imported yet: run `keepable import DIR` first.")]
    NoPackages,
    #[error("{0}")]
    Refused(String),
    /// A refusal already written to the audit log.
    #[error("{0}")]
    Recorded(String),
    #[error("Unknown deal '{}'. /deal show lists the deal bound to this channel; /deal new creates one.", user(.0))]
    UnknownDeal(String),
    #[error("No deal is bound to this channel: start one with /deal new <name> package=<package>, or add deal=<deal>.")]
    NoDeal,
    #[error("That button has expired or does not belong to you; ask again.")]
    UnknownAction,
    #[error("Someone else changed this at the same moment; look at it again and retry.")]
    Conflict,
    #[error(transparent)]
    Backtest(#[from] crate::domain::backtest::BacktestError),
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

impl From<crate::domain::deal::DealRefusal> for UserError {
    fn from(refusal: crate::domain::deal::DealRefusal) -> Self {
        use crate::domain::deal::DealRefusal;
        match refusal {
            DealRefusal::AlreadyClosed { name, status } => {
                UserError::Refused(format!("Deal {} is already {status}.", user(&name)))
            }
            DealRefusal::NotYours { name, seller } => UserError::Refused(format!(
                "Only the deal's seller (<@{seller}>) or a sales lead can change {}.",
                user(&name)
            )),
            DealRefusal::NotOpen { name, status } => UserError::Refused(format!(
                "Deal {} is {status}: nothing more can be committed, held or requested on it.",
                user(&name)
            )),
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
    crate::domain::handover::AcknowledgeRefusal,
    crate::domain::hold::HoldRefusal
);

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// The refusal to show, or the internal error to pass on.
    pub fn into_user(self) -> Result<UserError, AppError> {
        match self {
            AppError::User(error) => Ok(error),
            internal => Err(internal),
        }
    }
}
