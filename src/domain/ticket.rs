//! The scoping-ticket state machine (SPEC 5.3): open -> accepted -> scoped | declined.

use chrono::{DateTime, Utc};
use serde::Serialize;

text_enum! {
    pub enum TicketState {
        Open = "open",
        Accepted = "accepted",
        Scoped = "scoped",
        Declined = "declined",
    }
}

/// A scoping ticket, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ticket {
    pub id: String,
    pub deal_id: Option<String>,
    pub package: Option<String>,
    pub requester: String,
    pub channel: String,
    pub description: String,
    pub state: TicketState,
    pub effort_hours: Option<f64>,
    pub price: Option<f64>,
    pub notes: Option<String>,
    pub reason: Option<String>,
    /// The deliverable it became, once added to the library.
    pub deliverable_id: Option<String>,
    pub handled_by: Option<String>,
    /// The outbox message of the presales card, updated in place at each step.
    pub message_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The answer whose button opened it.
    pub offer_id: Option<String>,
}

/// What a move sets on the ticket: scoping gives effort, price and notes; declining a reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketChange {
    pub effort_hours: Option<f64>,
    pub price: Option<f64>,
    pub notes: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketMove {
    Accept,
    Scope,
    Decline,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketRefusal {
    #[error("Only presales members can work on scoping tickets.")]
    NotPresales,
    #[error("This ticket is {from}; it cannot be {action} now.")]
    WrongState { from: &'static str, action: &'static str },
}

/// The state a move leads to, or why it is not allowed from `from`.
pub fn next_state(
    from: TicketState,
    step: TicketMove,
    is_presales: bool,
) -> Result<TicketState, TicketRefusal> {
    if !is_presales {
        return Err(TicketRefusal::NotPresales);
    }
    let (to, action) = match (from, step) {
        (TicketState::Open, TicketMove::Accept) => (Some(TicketState::Accepted), "accepted"),
        (TicketState::Accepted, TicketMove::Scope) => (Some(TicketState::Scoped), "scoped"),
        (TicketState::Open | TicketState::Accepted, TicketMove::Decline) => {
            (Some(TicketState::Declined), "declined")
        }
        (_, TicketMove::Accept) => (None, "accepted"),
        (_, TicketMove::Scope) => (None, "scoped"),
        (_, TicketMove::Decline) => (None, "declined"),
    };
    to.ok_or(TicketRefusal::WrongState { from: from.as_str(), action })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_is_accepted_then_scoped() {
        let accepted = next_state(TicketState::Open, TicketMove::Accept, true).unwrap();
        assert_eq!(next_state(accepted, TicketMove::Scope, true), Ok(TicketState::Scoped));
    }

    #[test]
    fn an_open_ticket_cannot_be_scoped_before_it_is_accepted() {
        assert!(next_state(TicketState::Open, TicketMove::Scope, true).is_err());
    }

    #[test]
    fn a_scoped_ticket_cannot_be_declined() {
        assert!(next_state(TicketState::Scoped, TicketMove::Decline, true).is_err());
    }

    #[test]
    fn only_presales_moves_tickets() {
        assert_eq!(
            next_state(TicketState::Open, TicketMove::Accept, false),
            Err(TicketRefusal::NotPresales)
        );
    }
}
