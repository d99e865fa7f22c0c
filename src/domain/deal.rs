//! Deals (SPEC 5.1): the context a seller works in, its lifecycle (open → won / lost), its
//! commitments, and the id slug rule.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::approval::Evidence;
use super::library::normalize;
use super::membership::Membership;
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

/// Why a deal cannot move, or cannot be changed by someone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DealRefusal {
    #[error("Deal {name} is already {status}.")]
    AlreadyClosed { name: String, status: DealStatus },
    #[error("Only the deal's seller (<@{seller}>) or a sales lead can change {name}.")]
    NotYours { name: String, seller: String },
    #[error("Deal {name} is {status}: nothing more can be committed, held or requested on it.")]
    NotOpen { name: String, status: DealStatus },
}

/// Who, besides the seller, has a say over deals (from configuration).
#[derive(Debug, Clone, Copy)]
pub struct DealRoles<'a> {
    pub sales_leads: &'a Membership,
    pub approvers: &'a Membership,
    pub presales: &'a Membership,
}

impl Deal {
    /// Closing a deal (won or lost) is allowed once, from open.
    pub fn close(&self, to: DealStatus) -> Result<DealStatus, DealRefusal> {
        match self.status {
            DealStatus::Open if to != DealStatus::Open => Ok(to),
            status => Err(DealRefusal::AlreadyClosed { name: self.name.clone(), status }),
        }
    }

    /// Who may commit to the deal, hold capacity for it, request approvals on it, rebind channels
    /// to it, and mark it won or lost: its seller and the sales leads. Deny by default.
    pub fn check_change(
        &self,
        user: &str,
        groups: &[String],
        sales_leads: &Membership,
    ) -> Result<(), DealRefusal> {
        if self.seller == user || sales_leads.contains(user, groups) {
            Ok(())
        } else {
            Err(DealRefusal::NotYours { name: self.name.clone(), seller: self.seller.clone() })
        }
    }

    /// Who may see the deal: those who may change it, approvers, presales, and its PM.
    pub fn may_see(&self, user: &str, groups: &[String], roles: DealRoles<'_>) -> bool {
        self.check_change(user, groups, roles.sales_leads).is_ok()
            || roles.approvers.contains(user, groups)
            || roles.presales.contains(user, groups)
            || self.pm.as_deref() == Some(user)
    }

    /// Whether anything more can be committed, held or requested on the deal.
    pub fn check_open(&self) -> Result<(), DealRefusal> {
        match self.status {
            DealStatus::Open => Ok(()),
            status => Err(DealRefusal::NotOpen { name: self.name.clone(), status }),
        }
    }
}

/// The last working day of a project of `weeks` weeks starting on Monday `start`: the Friday of
/// its last week.
pub fn project_end(start: NaiveDate, weeks: i64) -> NaiveDate {
    start + Duration::days(7 * weeks - 3)
}

/// A start and a deadline that do not fit, with the arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Starting {}, {weeks} weeks end {}, after the deadline {}: request approval, or commit a later deadline.",
    day(*start), day(*end), day(*deadline)
)]
pub struct Misfit {
    pub start: NaiveDate,
    pub weeks: i64,
    pub end: NaiveDate,
    pub deadline: NaiveDate,
}

fn day(date: NaiveDate) -> String {
    date.format("%a %-d %b %Y").to_string()
}

/// SPEC 5.1's consistency rule: a committed start and deadline must fit (start plus the
/// package's duration ends on or before the deadline), unless the deadline is an approved
/// exception judged from that very start.
pub fn check_fit(
    start: NaiveDate,
    weeks: i64,
    deadline: NaiveDate,
    exception_from: Option<NaiveDate>,
) -> Result<(), Misfit> {
    let end = project_end(start, weeks);
    if end <= deadline || exception_from == Some(start) {
        Ok(())
    } else {
        Err(Misfit { start, weeks, end, deadline })
    }
}

/// Why a `pm=` is not a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pm= must name one person (a user, like pm=@ann): '{0}' is a channel, a group or not a user id.")]
pub struct NotAPerson(pub String);

/// The user id a `pm=` names: a user mention (`<@U1>`, `<@U1|ann>`, `<@!1>`) or a bare user id.
/// Channels (`<#C1>`, `#sales`), groups and roles (`<!subteam^S1>`, `<@&1>`), and `here`,
/// `channel` or `everyone` are refused.
pub fn pm_reference(given: &str) -> Result<String, NotAPerson> {
    let refuse = || NotAPerson(given.to_string());
    let given = given.trim();
    let id = match given.strip_prefix("<@").and_then(|inner| inner.strip_suffix('>')) {
        Some(inner) if inner.starts_with('&') => return Err(refuse()),
        Some(inner) => inner.trim_start_matches('!').split('|').next().unwrap_or_default(),
        None if given.starts_with(['<', '#', '!']) => return Err(refuse()),
        None => given.trim_start_matches('@'),
    };
    let reserved = ["here", "channel", "everyone"].contains(&id.to_lowercase().as_str());
    let valid = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if reserved || !valid {
        return Err(refuse());
    }
    Ok(id.to_string())
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
    /// What it fixes, in one word: the date of a start or deadline, the deliverable of a scope
    /// item, the pattern of a staffing.
    pub value: String,
    /// False once a newer commitment of its kind superseded it (kept as the deal's history).
    pub current: bool,
    pub superseded_at: Option<DateTime<Utc>>,
    /// The answer whose button made it: pressing that button again changes nothing.
    pub offer_id: Option<String>,
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
    fn only_the_seller_or_a_sales_lead_changes_a_deal() {
        let leads = Membership::new(&["U-LEAD".into()], Some("S-LEADS"));
        let open = deal(DealStatus::Open);
        assert!(open.check_change("U1", &[], &leads).is_ok());
        assert!(open.check_change("U-LEAD", &[], &leads).is_ok());
        assert!(open.check_change("U9", &["S-LEADS".into()], &leads).is_ok());
        assert!(matches!(
            open.check_change("U-STRANGER", &[], &leads),
            Err(DealRefusal::NotYours { .. })
        ));
        let nobody = Membership::default();
        let roles = DealRoles { sales_leads: &leads, approvers: &nobody, presales: &nobody };
        assert!(!open.may_see("U-STRANGER", &[], roles));
        let handed = Deal { pm: Some("U-PM".into()), ..deal(DealStatus::Won) };
        assert!(handed.may_see("U-PM", &[], roles));
        assert!(matches!(handed.check_open(), Err(DealRefusal::NotOpen { .. })));
    }

    #[test]
    fn a_start_and_a_deadline_must_fit_unless_the_deadline_was_approved_for_that_start() {
        let start: NaiveDate = "2027-01-18".parse().unwrap();
        let deadline: NaiveDate = "2027-01-29".parse().unwrap();
        let misfit = check_fit(start, 12, deadline, None).unwrap_err();
        assert_eq!(
            misfit.to_string(),
            "Starting Mon 18 Jan 2027, 12 weeks end Fri 9 Apr 2027, after the deadline Fri 29 Jan 2027: \
             request approval, or commit a later deadline."
        );
        assert!(
            check_fit(start, 12, deadline, Some(start)).is_ok(),
            "an exception approved for this start"
        );
        assert!(
            check_fit(start, 12, deadline, Some("2027-01-11".parse().unwrap())).is_err(),
            "approved for another start"
        );
        assert!(check_fit(start, 2, deadline, None).is_ok(), "ends Fri 29 Jan: on the deadline");
    }

    #[test]
    fn a_pm_is_one_person() {
        assert_eq!(pm_reference("<@U123|ann>"), Ok("U123".into()));
        assert_eq!(pm_reference("<@!900000000000000002>"), Ok("900000000000000002".into()));
        assert_eq!(pm_reference("U-PM"), Ok("U-PM".into()));
        assert_eq!(pm_reference("@ann"), Ok("ann".into()));
        for channel_or_group in [
            "<#C123|general>",
            "#general",
            "<!subteam^S1>",
            "<!here>",
            "<@&800000000000000001>",
            "here",
            "@everyone",
            "",
            "a b",
        ] {
            assert!(pm_reference(channel_or_group).is_err(), "{channel_or_group}");
        }
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
