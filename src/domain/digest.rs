//! The weekly digest (SPEC 5.7): which of this week's radar signals leadership has not been told
//! about. A signal is news when the last digest did not carry it, or when its figure has moved
//! further past its threshold since; a signal that stayed level, improved or went away is not.
//! Also the week a digest belongs to (ISO week, in the firm's time zone) and who may acknowledge it.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::radar::{Grouping, Signal};

/// The tolerance figures are compared with, as the radar's own.
const TOLERANCE: f64 = 1e-9;

/// One raised radar signal as a digest records it: whose (a package, or the firm as a whole),
/// which sign, the figure, the sample it rests on and the threshold it was judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestSignal {
    /// `Package` or `Firm`.
    pub by: Grouping,
    /// The package id, or `firm`.
    pub key: String,
    pub signal: Signal,
    pub value: f64,
    pub sample: usize,
    pub threshold: f64,
}

impl DigestSignal {
    /// How far the figure is past its threshold: what "worse" is measured by, so a moved
    /// threshold is taken into account.
    fn past_threshold(&self) -> f64 {
        self.value - self.threshold
    }

    fn is_same_sign(&self, other: &DigestSignal) -> bool {
        self.by == other.by && self.key == other.key && self.signal == other.signal
    }
}

/// A signal the digest reports, with the figure last week's digest showed (`None`: new).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DigestChange {
    #[serde(flatten)]
    pub now: DigestSignal,
    pub was: Option<f64>,
}

/// The signals of `current` that are new since `last`, or whose figure moved further past its
/// threshold, in `current`'s order. Signals that stayed level, improved, or are gone are left out.
pub fn new_or_worse(current: &[DigestSignal], last: &[DigestSignal]) -> Vec<DigestChange> {
    current
        .iter()
        .filter_map(|now| match last.iter().find(|then| then.is_same_sign(now)) {
            None => Some(DigestChange { now: now.clone(), was: None }),
            Some(then) if now.past_threshold() - then.past_threshold() > TOLERANCE => {
                Some(DigestChange { now: now.clone(), was: Some(then.value) })
            }
            Some(_) => None,
        })
        .collect()
}

/// The ISO week `day` falls in, as the digest's key: `2027-W10` (sorts as text).
pub fn digest_week(day: NaiveDate) -> String {
    let week = day.iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// A digest posted for one week: the signals it carried (what next week compares against),
/// its leadership message and who acknowledged it.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    /// `digest_week` of the day it was posted.
    pub week: String,
    pub posted_at: DateTime<Utc>,
    /// Every signal raised that week (not only the news), for the next week's comparison.
    pub signals: Vec<DigestSignal>,
    pub message_id: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

impl Digest {
    /// Whether someone who is (`leadership`) or is not an approver or sales lead may acknowledge
    /// it now: leadership only, and once.
    pub fn check_acknowledge(&self, leadership: bool) -> Result<(), AcknowledgeRefusal> {
        if !leadership {
            return Err(AcknowledgeRefusal::NotLeadership);
        }
        match (&self.acknowledged_by, self.acknowledged_at) {
            (Some(by), Some(at)) => Err(AcknowledgeRefusal::AlreadyAcknowledged {
                by: by.clone(),
                at: at.format("%Y-%m-%d %H:%M UTC").to_string(),
            }),
            _ => Ok(()),
        }
    }
}

/// Why a press of a digest's Acknowledge button is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcknowledgeRefusal {
    #[error("Only approvers and sales leads can acknowledge the weekly digest.")]
    NotLeadership,
    #[error("<@{by}> already acknowledged this digest on {at}.")]
    AlreadyAcknowledged { by: String, at: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(key: &str, signal: Signal, value: f64, threshold: f64) -> DigestSignal {
        DigestSignal { by: Grouping::Package, key: key.into(), signal, value, sample: 8, threshold }
    }

    #[test]
    fn a_signal_last_week_did_not_carry_is_new() {
        let now = [sign("crm", Signal::ChangeOrders, 0.4, 0.3)];
        let changes = new_or_worse(&now, &[]);
        assert_eq!(changes, [DigestChange { now: now[0].clone(), was: None }]);
        // The same sign for another package, or another sign for the package, is still new.
        let last = [
            sign("audit", Signal::ChangeOrders, 0.4, 0.3),
            sign("crm", Signal::MarginFade, 12.0, 10.0),
        ];
        assert_eq!(new_or_worse(&now, &last).len(), 1);
        let firm = DigestSignal { by: Grouping::Firm, ..now[0].clone() };
        assert_eq!(
            new_or_worse(&now, &[firm])[0].was,
            None,
            "the firm's sign is not the package's"
        );
    }

    #[test]
    fn a_figure_further_past_its_threshold_is_worse() {
        let last = [sign("crm", Signal::ChangeOrders, 0.4, 0.3)];
        let now = [sign("crm", Signal::ChangeOrders, 0.45, 0.3)];
        assert_eq!(
            new_or_worse(&now, &last),
            [DigestChange { now: now[0].clone(), was: Some(0.4) }]
        );
        // A threshold lowered since: the same figure is now further past it.
        let lowered = [sign("crm", Signal::ChangeOrders, 0.4, 0.25)];
        assert_eq!(new_or_worse(&lowered, &last)[0].was, Some(0.4));
    }

    #[test]
    fn the_same_or_a_better_figure_is_no_news() {
        let last = [sign("crm", Signal::MarginFade, 14.0, 10.0)];
        assert!(new_or_worse(&[sign("crm", Signal::MarginFade, 14.0, 10.0)], &last).is_empty());
        assert!(new_or_worse(&[sign("crm", Signal::MarginFade, 11.0, 10.0)], &last).is_empty());
        // Within the tolerance is the same figure.
        let level = [sign("crm", Signal::MarginFade, 14.0 + 1e-12, 10.0)];
        assert!(new_or_worse(&level, &last).is_empty());
        // A threshold raised since, the figure unchanged: less far past it.
        assert!(new_or_worse(&[sign("crm", Signal::MarginFade, 14.0, 12.0)], &last).is_empty());
    }

    #[test]
    fn a_signal_that_is_gone_is_not_reported() {
        let last = [
            sign("crm", Signal::ScheduleSlip, 0.5, 0.3),
            sign("bi", Signal::SeniorityGap, 0.3, 0.2),
        ];
        let now = [sign("bi", Signal::SeniorityGap, 0.3, 0.2)];
        assert!(new_or_worse(&now, &last).is_empty());
        assert!(new_or_worse(&[], &last).is_empty());
    }

    #[test]
    fn only_leadership_acknowledges_and_only_once() {
        let at = DateTime::parse_from_rfc3339("2027-03-08T09:30:00Z").unwrap().to_utc();
        let mut digest = Digest {
            week: "2027-W10".into(),
            posted_at: at,
            signals: Vec::new(),
            message_id: Some(1),
            acknowledged_by: None,
            acknowledged_at: None,
        };
        assert_eq!(digest.check_acknowledge(false), Err(AcknowledgeRefusal::NotLeadership));
        assert_eq!(digest.check_acknowledge(true), Ok(()));
        digest.acknowledged_by = Some("U-LEAD".into());
        digest.acknowledged_at = Some(at);
        let refusal = digest.check_acknowledge(true).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "<@U-LEAD> already acknowledged this digest on 2027-03-08 09:30 UTC."
        );
        assert_eq!(digest.check_acknowledge(false), Err(AcknowledgeRefusal::NotLeadership));
    }

    #[test]
    fn a_digest_belongs_to_its_iso_week() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(digest_week(day(2027, 3, 8)), "2027-W10");
        assert_eq!(digest_week(day(2027, 3, 14)), "2027-W10", "Sunday ends the ISO week");
        assert_eq!(digest_week(day(2027, 3, 15)), "2027-W11");
        // 1 January 2027 is a Friday: still the last week of 2026.
        assert_eq!(digest_week(day(2027, 1, 1)), "2026-W53");
    }
}
