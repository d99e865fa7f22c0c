//! Capacity holds (SPEC 5.1): tentative bookings the system makes for a deal. A hold is active
//! until the deal is won (confirmed), lost or replaced (released), or it lapses (expired).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

text_enum! {
    pub enum HoldState {
        Active = "active",
        Confirmed = "confirmed",
        Released = "released",
        Expired = "expired",
    }
}

/// What happens to a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldEvent {
    /// The deal was won: the tentative bookings become confirmed.
    Confirm,
    /// The deal was lost, or a new hold replaces this one: the bookings go.
    Release,
    /// The hold lapsed before the deal was decided: the bookings go.
    Expire,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("This hold is {0} already.")]
pub struct HoldRefusal(pub HoldState);

impl HoldState {
    /// The state `event` leads to; only an active hold moves, and only once.
    pub fn after(self, event: HoldEvent) -> Result<HoldState, HoldRefusal> {
        match (self, event) {
            (HoldState::Active, HoldEvent::Confirm) => Ok(HoldState::Confirmed),
            (HoldState::Active, HoldEvent::Release) => Ok(HoldState::Released),
            (HoldState::Active, HoldEvent::Expire) => Ok(HoldState::Expired),
            (state, _) => Err(HoldRefusal(state)),
        }
    }

    /// Whether the hold's bookings still count as capacity taken.
    pub fn keeps_bookings(self) -> bool {
        matches!(self, HoldState::Active | HoldState::Confirmed)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hold {
    pub id: String,
    pub deal_id: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub state: HoldState,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The answer whose button made it.
    pub offer_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn event() -> impl Strategy<Value = HoldEvent> {
        prop_oneof![Just(HoldEvent::Confirm), Just(HoldEvent::Release), Just(HoldEvent::Expire)]
    }

    #[test]
    fn an_active_hold_moves_once() {
        assert_eq!(HoldState::Active.after(HoldEvent::Confirm), Ok(HoldState::Confirmed));
        assert_eq!(
            HoldState::Confirmed.after(HoldEvent::Release),
            Err(HoldRefusal(HoldState::Confirmed))
        );
    }

    proptest! {
        /// A hold is never both confirmed and released: after its first move, nothing moves it.
        #[test]
        fn a_hold_is_never_both_confirmed_and_released(events in proptest::collection::vec(event(), 1..8)) {
            let mut state = HoldState::Active;
            let mut seen = Vec::new();
            for event in events {
                if let Ok(next) = state.after(event) {
                    state = next;
                    seen.push(next);
                }
            }
            prop_assert!(seen.len() <= 1);
            prop_assert!(!(seen.contains(&HoldState::Confirmed) && seen.contains(&HoldState::Released)));
        }
    }
}
