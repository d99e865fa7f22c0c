//! The handover (SPEC 5.4): when a deal is won its project manager is sent everything that was
//! promised, and only that PM can acknowledge it, once.

use chrono::{DateTime, Utc};
use serde::Serialize;

text_enum! {
    pub enum HandoverState {
        Sent = "sent",
        Acknowledged = "acknowledged",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handover {
    pub id: String,
    pub deal_id: String,
    pub pm: String,
    pub state: HandoverState,
    /// The outbox message of the PM's direct message, updated in place when acknowledged.
    pub message_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub remind_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcknowledgeRefusal {
    #[error("Only the project manager (<@{pm}>) can acknowledge this handover.")]
    NotThePm { pm: String },
    #[error("This handover was already acknowledged at {at}.")]
    AlreadyAcknowledged { at: String },
}

impl Handover {
    /// Whether `user` may acknowledge this handover now.
    pub fn check_acknowledge(&self, user: &str) -> Result<(), AcknowledgeRefusal> {
        if self.pm != user {
            return Err(AcknowledgeRefusal::NotThePm { pm: self.pm.clone() });
        }
        match (self.state, self.acknowledged_at) {
            (HandoverState::Sent, _) => Ok(()),
            (HandoverState::Acknowledged, at) => Err(AcknowledgeRefusal::AlreadyAcknowledged {
                at: at.map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent() -> Handover {
        Handover {
            id: "H1".into(),
            deal_id: "acme".into(),
            pm: "U-PM".into(),
            state: HandoverState::Sent,
            message_id: None,
            created_at: "2027-01-01T10:00:00Z".parse().unwrap(),
            remind_at: None,
            acknowledged_at: None,
        }
    }

    #[test]
    fn only_the_pm_acknowledges_and_only_once() {
        assert_eq!(sent().check_acknowledge("U-PM"), Ok(()));
        assert!(matches!(
            sent().check_acknowledge("U-SELLER"),
            Err(AcknowledgeRefusal::NotThePm { .. })
        ));
        let done = Handover {
            state: HandoverState::Acknowledged,
            acknowledged_at: Some("2027-01-02T09:30:00Z".parse().unwrap()),
            ..sent()
        };
        let refusal = done.check_acknowledge("U-PM").unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "This handover was already acknowledged at 2027-01-02 09:30 UTC."
        );
    }
}
