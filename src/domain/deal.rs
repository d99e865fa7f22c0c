//! Deals (SPEC 5.1): the context a seller works in, its lifecycle (open → won / lost), its
//! commitments, and the id slug rule.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::approval::Evidence;
use super::library::normalize;
use super::offer::OfferTerms;

text_enum! {
    pub enum DealStatus {
        Open = "open",
        Won = "won",
        Lost = "lost",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deal {
    pub id: String,
    pub name: String,
    pub client: String,
    pub package: String,
    pub seller: String,
    pub channel: String,
    pub status: DealStatus,
    pub pm: Option<String>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// Why a deal cannot move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DealRefusal {
    #[error("Deal {name} is already {status}.")]
    AlreadyClosed { name: String, status: DealStatus },
}

impl Deal {
    /// Closing a deal (won or lost) is allowed once, from open.
    pub fn close(&self, to: DealStatus) -> Result<DealStatus, DealRefusal> {
        match self.status {
            DealStatus::Open if to != DealStatus::Open => Ok(to),
            status => Err(DealRefusal::AlreadyClosed { name: self.name.clone(), status }),
        }
    }
}

text_enum! {
    /// What a commitment on a deal fixes.
    pub enum CommitmentKind {
        Start = "start",
        Deadline = "deadline",
        Staffing = "staffing",
        Scope = "scope",
    }
}

/// What a commitment was made from: an answer's offer, or an approved exception's evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CommitmentDetails {
    Offer(OfferTerms),
    Approval(Evidence),
}

/// Something agreed on a deal: what the PM inherits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Commitment {
    pub id: i64,
    pub deal_id: String,
    pub kind: CommitmentKind,
    /// How it reads: "start 2027-01-18 (12 weeks, …)".
    pub summary: String,
    pub details: CommitmentDetails,
    /// Where it came from: "earliest-start engine, capacity as of …", "approval A1B2C3".
    pub source: String,
    pub approval_id: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// The id a name becomes: normalised (SPEC 4.5), spaces as hyphens; `fallback` when nothing is
/// left. `"Acme CRM!"` → `acme-crm`.
pub fn slug(name: &str, fallback: &str) -> String {
    let base = normalize(name).replace(' ', "-");
    if base.is_empty() {
        fallback.to_string()
    } else {
        base
    }
}

/// The `n`-th candidate id for `base`: `acme`, `acme-2`, `acme-3`, …
pub fn nth_candidate(base: &str, n: usize) -> String {
    if n <= 1 {
        base.to_string()
    } else {
        format!("{base}-{n}")
    }
}

/// The first candidate id for `base` that `taken` does not hold.
pub fn unique_slug(base: &str, taken: impl Fn(&str) -> bool) -> String {
    (1..).map(|n| nth_candidate(base, n)).find(|id| !taken(id)).unwrap_or_else(|| base.to_string())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn deal(status: DealStatus) -> Deal {
        Deal {
            id: "acme".into(),
            name: "Acme".into(),
            client: String::new(),
            package: "crm-rollout".into(),
            seller: "U1".into(),
            channel: "C1".into(),
            status,
            pm: None,
            created_at: "2027-01-01T10:00:00Z".parse().unwrap(),
            closed_at: None,
        }
    }

    #[test]
    fn an_open_deal_closes_once() {
        assert_eq!(deal(DealStatus::Open).close(DealStatus::Won), Ok(DealStatus::Won));
        assert_eq!(deal(DealStatus::Open).close(DealStatus::Lost), Ok(DealStatus::Lost));
        let refusal = deal(DealStatus::Won).close(DealStatus::Lost).unwrap_err();
        assert_eq!(refusal.to_string(), "Deal Acme is already won.");
    }

    #[test]
    fn names_become_slugs() {
        assert_eq!(slug("Acme CRM!", "deal"), "acme-crm");
        assert_eq!(slug("  ***  ", "deal"), "deal");
        assert_eq!(unique_slug("acme", |id| id == "acme" || id == "acme-2"), "acme-3");
    }

    proptest! {
        #[test]
        fn a_slug_is_lower_case_words_joined_by_hyphens(name in ".{0,40}") {
            let id = slug(&name, "deal");
            prop_assert!(!id.is_empty());
            prop_assert!(id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            prop_assert!(!id.starts_with('-') && !id.ends_with('-') && !id.contains("--"));
        }
    }
}
