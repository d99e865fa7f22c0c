//! Approvals (SPEC 5.2): who may decide a request, when it reminds, escalates and expires, and
//! what a decision does. A newcomer asking "who may approve?" reads `check_decision`.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::membership::Membership;
use super::offer::OfferedRole;

text_enum! {
    /// What is asked for: a deadline shorter than the rule allows, or a start before capacity allows.
    pub enum ApprovalKind {
        Deadline = "deadline",
        EarlyStart = "early_start",
    }
}

text_enum! {
    pub enum ApprovalState {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
        Expired = "expired",
    }
}

/// What leadership decides from, as the request carried it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Evidence {
    Deadline(DeadlineEvidence),
    EarlyStart(EarlyStartEvidence),
}

impl Evidence {
    pub fn kind(&self) -> ApprovalKind {
        match self {
            Evidence::Deadline(_) => ApprovalKind::Deadline,
            Evidence::EarlyStart(_) => ApprovalKind::EarlyStart,
        }
    }
}

/// The comparables behind a deadline request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineEvidence {
    pub n: usize,
    pub p10_days: Option<f64>,
    pub p50_days: Option<f64>,
    pub p90_days: Option<f64>,
    pub requested_days: Option<i64>,
    pub share_within: f64,
    pub effort: Option<f64>,
    /// The start the requested days are counted from.
    pub start: Option<NaiveDate>,
}

/// The capacity answer behind an earlier-start request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStartEvidence {
    pub earliest_start: NaiveDate,
    pub ignoring_tentative: Option<NaiveDate>,
    pub roles: Vec<OfferedRole>,
    pub weeks: i64,
}

/// A request for an exception, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approval {
    pub id: String,
    pub deal_id: Option<String>,
    pub package: String,
    pub requester: String,
    pub channel: String,
    pub requested_date: NaiveDate,
    /// The start a deadline was judged from, or the earliest start an early start undercuts.
    pub start_date: Option<NaiveDate>,
    pub evidence: Evidence,
    pub state: ApprovalState,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    /// The outbox message of the leadership card, updated in place on decision.
    pub message_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub remind_at: Option<DateTime<Utc>>,
    pub escalate_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    /// The answer whose button asked for it.
    pub offer_id: Option<String>,
}

impl Approval {
    pub fn kind(&self) -> ApprovalKind {
        self.evidence.kind()
    }

    /// "a deadline of 2027-06-29 for crm-rollout"
    pub fn describe(&self) -> String {
        match self.kind() {
            ApprovalKind::Deadline => {
                format!("a deadline of {} for {}", self.requested_date, self.package)
            }
            ApprovalKind::EarlyStart => format!(
                "a start on {} for {} (earliest from capacity: {})",
                self.requested_date,
                self.package,
                self.start_date.map(|d| d.to_string()).unwrap_or_default()
            ),
        }
    }
}

/// How long a pending request waits before a reminder, an escalation and its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalTimers {
    pub reminder_hours: i64,
    pub escalation_hours: i64,
    pub expiry_hours: i64,
}

/// The timers of a pending request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalTimer {
    Reminder,
    Escalation,
    Expiry,
}

/// When a request made at `now` is reminded, escalated and expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub remind_at: DateTime<Utc>,
    pub escalate_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl ApprovalTimers {
    pub fn schedule(&self, now: DateTime<Utc>) -> Schedule {
        Schedule {
            remind_at: now + Duration::hours(self.reminder_hours),
            escalate_at: now + Duration::hours(self.escalation_hours),
            expires_at: now + Duration::hours(self.expiry_hours),
        }
    }
}

/// What a decider asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalDecision {
    Approve,
    Reject { reason: String },
}

impl ApprovalDecision {
    pub fn resulting_state(&self) -> ApprovalState {
        match self {
            Self::Approve => ApprovalState::Approved,
            Self::Reject { .. } => ApprovalState::Rejected,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Approve => None,
            Self::Reject { reason } => Some(reason),
        }
    }
}

/// Why a click on Approve / Reject was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionRefusal {
    #[error("You are not authorised to decide approvals.")]
    NotAuthorised,
    #[error("You cannot decide your own request: another approver has to.")]
    OwnRequest,
    #[error("A rejection needs a reason.")]
    ReasonMissing,
    #[error("This request was already {state} by {by} at {at}.")]
    AlreadyDecided { state: &'static str, by: String, at: DateTime<Utc> },
    #[error("This request expired at {at} without a decision; ask for a new one.")]
    Expired { at: DateTime<Utc> },
}

/// Who is deciding, as the server knows them.
#[derive(Debug, Clone, Copy)]
pub struct Decider<'a> {
    pub user: &'a str,
    /// The platform groups (Slack user groups, Discord roles) the platform says they are in.
    pub groups: &'a [String],
}

/// Who may decide `approval` at `now`: a configured approver (deny by default), not the
/// requester, while the request is pending and before it expires — whether or not the expiry
/// sweep has run. A rejection needs a reason.
pub fn check_decision(
    approval: &Approval,
    decider: Decider<'_>,
    approvers: &Membership,
    decision: &ApprovalDecision,
    now: DateTime<Utc>,
) -> Result<(), DecisionRefusal> {
    if !approvers.contains(decider.user, decider.groups) {
        return Err(DecisionRefusal::NotAuthorised);
    }
    match approval.state {
        ApprovalState::Pending if now >= approval.expires_at => {
            return Err(DecisionRefusal::Expired { at: approval.expires_at })
        }
        ApprovalState::Pending => {}
        ApprovalState::Expired => return Err(DecisionRefusal::Expired { at: approval.expires_at }),
        decided => {
            return Err(DecisionRefusal::AlreadyDecided {
                state: decided.as_str(),
                by: approval.decided_by.clone().unwrap_or_default(),
                at: approval.decided_at.unwrap_or(approval.expires_at),
            })
        }
    }
    if approval.requester == decider.user {
        return Err(DecisionRefusal::OwnRequest);
    }
    if let ApprovalDecision::Reject { reason } = decision {
        if reason.trim().is_empty() {
            return Err(DecisionRefusal::ReasonMissing);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
