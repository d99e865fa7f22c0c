//! What an answer's buttons would commit (an `Offer`), kept server-side so a button's action id
//! carries only the offer's id, and who may press them: only the person who asked.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::hours::Hours;
use super::library::Verdict;

text_enum! {
    /// Which kind of answer an offer came from.
    pub enum OfferKind {
        Start = "start",
        Deadline = "deadline",
        Scope = "scope",
        Ticket = "ticket",
        Suggestion = "suggestion",
    }
}

/// One requirement of a staffing pattern, as offered (with the role's name for people to read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferedRole {
    pub role: String,
    /// Offers made before role names were recorded carry only the id.
    #[serde(default)]
    pub role_name: Option<String>,
    pub count: i64,
    pub hours_per_week: f64,
}

impl OfferedRole {
    pub fn hours(&self) -> Hours {
        Hours::from_f64(self.hours_per_week)
    }

    /// `2 × Senior consultant at 16 h/week`
    pub fn summary(&self) -> String {
        format!(
            "{} × {} at {} h/week",
            self.count,
            self.role_name.as_deref().unwrap_or(&self.role),
            self.hours()
        )
    }
}

/// `2 × senior at 16 h/week, 1 × principal at 24 h/week`
pub fn pattern_summary(roles: &[OfferedRole]) -> String {
    roles.iter().map(OfferedRole::summary).collect::<Vec<_>>().join(", ")
}

/// An earliest-start answer: commit the start, hold the capacity, or ask for an earlier one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartOffer {
    pub package: Option<String>,
    pub start: NaiveDate,
    pub weeks: i64,
    pub roles: Vec<OfferedRole>,
    pub ignoring_tentative: Option<NaiveDate>,
    /// The day the answer was computed for.
    pub computed_at: NaiveDate,
}

/// A comparables answer with a deadline: commit it, or request approval of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineOffer {
    pub package: String,
    pub deadline: NaiveDate,
    pub start: Option<NaiveDate>,
    pub requested_days: Option<i64>,
    pub share_within: f64,
    pub approval_required: bool,
    pub n: usize,
    pub p10_days: Option<f64>,
    pub p50_days: Option<f64>,
    pub p90_days: Option<f64>,
    pub effort: Option<f64>,
    pub computed_at: NaiveDate,
}

/// A dependency of an offered deliverable, with its own verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferedDependency {
    pub deliverable: String,
    pub verdict: Verdict,
    pub price: f64,
    pub effort_hours: f64,
}

/// An inclusion answer: add the deliverable to the deal's scope with its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopeOffer {
    pub deliverable: String,
    pub name: String,
    pub verdict: Verdict,
    pub package: Option<String>,
    pub price: f64,
    pub effort_hours: f64,
    pub separately_priced: bool,
    pub depends_on: Vec<OfferedDependency>,
}

/// A "not in the library" answer: open a scoping ticket for the text asked about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketOffer {
    pub description: String,
    pub package: Option<String>,
}

/// A near match to a "not in the library" question: answer for the deliverable suggested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuggestionOffer {
    pub deliverable: String,
    pub name: String,
    pub package: Option<String>,
}

/// What the buttons on one answer would commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OfferTerms {
    Start(StartOffer),
    Deadline(DeadlineOffer),
    Scope(ScopeOffer),
    Ticket(TicketOffer),
    Suggestion(SuggestionOffer),
}

impl OfferTerms {
    pub fn kind(&self) -> OfferKind {
        match self {
            OfferTerms::Start(_) => OfferKind::Start,
            OfferTerms::Deadline(_) => OfferKind::Deadline,
            OfferTerms::Scope(_) => OfferKind::Scope,
            OfferTerms::Ticket(_) => OfferKind::Ticket,
            OfferTerms::Suggestion(_) => OfferKind::Suggestion,
        }
    }
}

/// An answer's offer: made to one person, in one channel, at one time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Offer {
    pub id: String,
    /// Who asked: the only person who may press its buttons.
    pub owner: String,
    pub channel: String,
    pub terms: OfferTerms,
    pub created_at: DateTime<Utc>,
    /// The deal the question named (`deal=`): the buttons act on it, wherever pressed.
    pub deal: Option<String>,
}

/// Why a press on an answer's button is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferRefusal {
    #[error(
        "That button belongs to the answer someone else asked for; ask the question yourself."
    )]
    NotYours,
    #[error("That answer is more than {hours} hours old and the data may have moved; ask again for a fresh one.")]
    Expired { hours: i64 },
}

impl Offer {
    /// The terms, when `user` may press a button of kind `kind` on this offer at `now`: only the
    /// person who asked, within `valid_hours` of the answer.
    pub fn terms_for(
        &self,
        user: &str,
        kind: OfferKind,
        now: DateTime<Utc>,
        valid_hours: i64,
    ) -> Result<&OfferTerms, OfferRefusal> {
        if self.owner != user || self.terms.kind() != kind {
            return Err(OfferRefusal::NotYours);
        }
        if now >= self.created_at + Duration::hours(valid_hours) {
            return Err(OfferRefusal::Expired { hours: valid_hours });
        }
        Ok(&self.terms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer() -> Offer {
        Offer {
            id: "o1".into(),
            owner: "U1".into(),
            channel: "C1".into(),
            terms: OfferTerms::Ticket(TicketOffer {
                description: "Salesforce CPQ".into(),
                package: None,
            }),
            created_at: "2027-01-01T10:00:00Z".parse().unwrap(),
            deal: None,
        }
    }

    #[test]
    fn only_the_asker_may_press_an_answers_buttons_while_the_answer_is_fresh() {
        let soon: DateTime<Utc> = "2027-01-02T09:59:59Z".parse().unwrap();
        assert!(offer().terms_for("U1", OfferKind::Ticket, soon, 24).is_ok());
        assert_eq!(
            offer().terms_for("U2", OfferKind::Ticket, soon, 24),
            Err(OfferRefusal::NotYours)
        );
        assert_eq!(
            offer().terms_for("U1", OfferKind::Start, soon, 24),
            Err(OfferRefusal::NotYours)
        );
        let late: DateTime<Utc> = "2027-01-02T10:00:00Z".parse().unwrap();
        assert_eq!(
            offer().terms_for("U1", OfferKind::Ticket, late, 24),
            Err(OfferRefusal::Expired { hours: 24 })
        );
    }

    #[test]
    fn terms_round_trip_through_json_with_their_kind() {
        let terms = offer().terms;
        let json = serde_json::to_string(&terms).unwrap();
        assert!(json.contains(r#""kind":"ticket""#), "{json}");
        assert_eq!(serde_json::from_str::<OfferTerms>(&json).unwrap(), terms);
    }

    #[test]
    fn a_pattern_reads_as_roles_and_hours() {
        let roles = vec![
            OfferedRole {
                role: "senior".into(),
                role_name: Some("Senior consultant".into()),
                count: 2,
                hours_per_week: 16.0,
            },
            OfferedRole { role: "analyst".into(), role_name: None, count: 1, hours_per_week: 7.5 },
        ];
        assert_eq!(
            pattern_summary(&roles),
            "2 × Senior consultant at 16 h/week, 1 × analyst at 7.5 h/week"
        );
    }
}
