//! The scoping-ticket state machine (SPEC 5.3): open -> accepted -> scoped | declined.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Open,
    Accepted,
    Scoped,
    Declined,
}

impl TicketState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Accepted => "accepted",
            Self::Scoped => "scoped",
            Self::Declined => "declined",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(Self::Open),
            "accepted" => Some(Self::Accepted),
            "scoped" => Some(Self::Scoped),
            "declined" => Some(Self::Declined),
            _ => None,
        }
    }
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
pub fn next_state(from: TicketState, step: TicketMove, is_presales: bool) -> Result<TicketState, TicketRefusal> {
    if !is_presales {
        return Err(TicketRefusal::NotPresales);
    }
    let (to, action) = match (from, step) {
        (TicketState::Open, TicketMove::Accept) => (Some(TicketState::Accepted), "accepted"),
        (TicketState::Accepted, TicketMove::Scope) => (Some(TicketState::Scoped), "scoped"),
        (TicketState::Open | TicketState::Accepted, TicketMove::Decline) => (Some(TicketState::Declined), "declined"),
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
        assert_eq!(next_state(TicketState::Open, TicketMove::Accept, false), Err(TicketRefusal::NotPresales));
    }
}
