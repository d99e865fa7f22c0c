//! The approval state machine (SPEC 5.2): who may decide, and what a decision does.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    Deadline,
    EarlyStart,
}

impl ApprovalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deadline => "deadline",
            Self::EarlyStart => "early_start",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "deadline" => Some(Self::Deadline),
            "early_start" => Some(Self::EarlyStart),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Pending,
    Approved,
    Rejected,
    Expired,
}

impl ApprovalState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            "expired" => Some(Self::Expired),
            _ => None,
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
    AlreadyDecided { state: &'static str, by: String, at: String },
    #[error("This request expired at {at} without a decision; ask for a new one.")]
    Expired { at: String },
}

/// The facts about a request a decision is checked against.
#[derive(Debug, Clone)]
pub struct ApprovalFacts {
    pub state: ApprovalState,
    pub requester: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

/// Server-side authorisation, deny by default: `is_approver` comes from configuration (user ids
/// or a group/role the platform resolved), never from the request itself.
pub fn check_decision(facts: &ApprovalFacts, actor: &str, is_approver: bool, decision: &ApprovalDecision) -> Result<(), DecisionRefusal> {
    if !is_approver {
        return Err(DecisionRefusal::NotAuthorised);
    }
    match facts.state {
        ApprovalState::Pending => {}
        ApprovalState::Expired => return Err(DecisionRefusal::Expired { at: facts.decided_at.clone().unwrap_or_default() }),
        decided => {
            return Err(DecisionRefusal::AlreadyDecided {
                state: decided.as_str(),
                by: facts.decided_by.clone().unwrap_or_default(),
                at: facts.decided_at.clone().unwrap_or_default(),
            })
        }
    }
    if facts.requester == actor {
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
mod tests {
    use super::*;

    fn pending() -> ApprovalFacts {
        ApprovalFacts { state: ApprovalState::Pending, requester: "U1".into(), decided_by: None, decided_at: None }
    }

    #[test]
    fn an_approver_may_decide_someone_elses_request() {
        assert_eq!(check_decision(&pending(), "U2", true, &ApprovalDecision::Approve), Ok(()));
    }

    #[test]
    fn deny_by_default() {
        assert_eq!(check_decision(&pending(), "U2", false, &ApprovalDecision::Approve), Err(DecisionRefusal::NotAuthorised));
    }

    #[test]
    fn no_self_approval() {
        assert_eq!(check_decision(&pending(), "U1", true, &ApprovalDecision::Approve), Err(DecisionRefusal::OwnRequest));
    }

    #[test]
    fn a_rejection_needs_a_reason() {
        let reject = ApprovalDecision::Reject { reason: "  ".into() };
        assert_eq!(check_decision(&pending(), "U2", true, &reject), Err(DecisionRefusal::ReasonMissing));
    }

    #[test]
    fn a_decided_request_stays_decided() {
        let decided = ApprovalFacts {
            state: ApprovalState::Approved,
            decided_by: Some("U3".into()),
            decided_at: Some("2027-03-10T10:00:00Z".into()),
            ..pending()
        };
        let refusal = check_decision(&decided, "U2", true, &ApprovalDecision::Approve).unwrap_err();
        assert!(refusal.to_string().contains("U3"));
    }
}
