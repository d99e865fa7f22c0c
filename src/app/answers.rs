//! The answers of the engines, one struct each: it serialises to the `ask --json` contract
//! (SPEC 6; the extra keys are how the answer reads) and is the context of its template, so each
//! fact is computed once and shown the same way everywhere.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::backtest::Summary;
use crate::domain::deal::{Commitment, CommitmentKind, DealStatus};
use crate::domain::firm::HistoryRow;
use crate::domain::hold::{Hold, HoldState};
use crate::domain::library::Verdict;
use crate::domain::ticket::Ticket;

/// `/earliest-start`: SPEC 4.2.
#[derive(Debug, Clone, Serialize)]
pub struct EarliestStartAnswer {
    pub package: Option<String>,
    pub weeks: i64,
    pub earliest_start: Option<NaiveDate>,
    pub earliest_start_ignoring_tentative: Option<NaiveDate>,
    pub roles: Vec<RoleStart>,
    /// The package's name, or "This team" for an ad-hoc pattern.
    pub subject: String,
    /// Roles grouped by their own first start, when they differ.
    pub phased: Vec<Phase>,
    pub horizon: usize,
    pub not_before: Option<NaiveDate>,
    pub today: NaiveDate,
    /// How old the capacity data is (SPEC 3).
    pub capacity: super::refresh::Freshness,
    /// When no start was found: why, requirement by requirement.
    pub why_not: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoleStart {
    pub role: String,
    pub role_name: String,
    pub count: i64,
    pub hours_per_week: f64,
    pub earliest_start: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub date: NaiveDate,
    pub roles: String,
}

/// `/staffing`: SPEC 4.3.
#[derive(Debug, Clone, Serialize)]
pub struct StaffingAnswer {
    pub package: String,
    pub package_name: String,
    pub weeks: i64,
    pub roles: Vec<StaffedRole>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StaffedRole {
    pub role: String,
    pub role_name: String,
    pub description: String,
    pub count: i64,
    pub hours_per_week: f64,
}

/// `/comparables`: SPEC 4.4.
#[derive(Debug, Clone, Serialize)]
pub struct ComparablesAnswer {
    pub package: String,
    pub package_name: String,
    pub n: usize,
    pub effort: Option<f64>,
    pub effort_filter_applied: bool,
    pub p10_days: Option<f64>,
    pub p50_days: Option<f64>,
    pub p80_days: Option<f64>,
    pub p90_days: Option<f64>,
    pub nearest: Vec<NearestProject>,
    /// When half and four in five comparables would finish from the start used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish: Option<DatedFinish>,
    /// What the package's percentiles have been worth here (SPEC 4.7).
    pub backtest: BacktestLine,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DeadlineAnswer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline_date: Option<NaiveDate>,
    /// The requested duration in weeks, as read aloud ("2.7").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_weeks: Option<String>,
    pub today: NaiveDate,
    /// Every comparable's duration in days, for the chart (not part of the JSON contract).
    #[serde(skip)]
    pub durations_days: Vec<i64>,
}

/// The finish dates at P50 and P80 from a start: `start + ceil(days) − 1`.
#[derive(Debug, Clone, Serialize)]
pub struct DatedFinish {
    pub start: NaiveDate,
    /// The start was given (`start=`) rather than the package's earliest start.
    pub start_given: bool,
    pub p50_finish: NaiveDate,
    pub p80_finish: NaiveDate,
}

/// The backtest of the asked package over the last two years, for the comparables reply.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestLine {
    pub from: NaiveDate,
    #[serde(flatten)]
    pub summary: Summary,
    /// Enough projects were tested for the P80 hit rate to mean something.
    pub enough_tested: bool,
    pub p80_hits: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct NearestProject {
    pub id: String,
    pub client: String,
    pub weeks: f64,
    pub effort_hours: f64,
    pub end: NaiveDate,
}

impl From<&HistoryRow> for NearestProject {
    fn from(row: &HistoryRow) -> Self {
        NearestProject {
            id: row.id.clone(),
            client: row.client.clone(),
            weeks: ((row.duration_days() as f64) / 7.0 * 10.0).round() / 10.0,
            effort_hours: row.effort_hours,
            end: row.end,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadlineAnswer {
    pub start: Option<NaiveDate>,
    pub requested_days: Option<i64>,
    pub share_within: f64,
    pub approval_required: bool,
}

/// `/included`: SPEC 4.5.
#[derive(Debug, Clone, Serialize)]
pub struct InclusionAnswer {
    pub verdict: Verdict,
    pub deliverable: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub package: Option<String>,
    pub package_name: Option<String>,
    pub price: Option<f64>,
    pub effort_hours: Option<f64>,
    pub separately_priced: Option<bool>,
    pub depends_on: Vec<Dependency>,
    /// What was asked, and near matches when nothing matched exactly.
    pub query: String,
    pub suggestions: Vec<String>,
    /// The deal whose package was used, when the question came from a deal's channel.
    pub deal_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dependency {
    pub deliverable: String,
    pub name: String,
    pub verdict: Verdict,
    pub price: f64,
    pub effort_hours: f64,
}

/// `/deal show` (and every reply about a deal): SPEC 5.1, the `ask --json` deal contract.
#[derive(Debug, Clone, Serialize)]
pub struct DealAnswer {
    pub id: String,
    pub name: String,
    pub client: String,
    pub seller: String,
    pub status: DealStatus,
    pub package: String,
    pub pm: Option<String>,
    pub channels: Vec<String>,
    /// Current and superseded commitments, oldest first.
    pub commitments: Vec<CommitmentView>,
    pub holds: Vec<HoldView>,
    pub tickets: Vec<Ticket>,
    /// What just happened: `created`, `show`, `won`, `lost`, `rebound`.
    pub event: String,
    /// The channel's earlier deal, when this one replaced it.
    pub rebound_from: Option<String>,
    pub deal_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommitmentView {
    pub kind: CommitmentKind,
    pub value: String,
    pub current: bool,
    pub approval: Option<String>,
    pub approval_id: Option<String>,
    pub source: String,
    pub summary: String,
    pub created_at: DateTime<Utc>,
}

impl From<&Commitment> for CommitmentView {
    fn from(c: &Commitment) -> Self {
        CommitmentView {
            kind: c.kind,
            value: c.value.clone(),
            current: c.current,
            approval: c.approval_id.clone(),
            approval_id: c.approval_id.clone(),
            source: c.source.clone(),
            summary: c.summary.clone(),
            created_at: c.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HoldView {
    pub id: String,
    pub state: HoldState,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub expires_at: DateTime<Utc>,
}

impl From<&Hold> for HoldView {
    fn from(h: &Hold) -> Self {
        HoldView {
            id: h.id.clone(),
            state: h.state,
            start: h.start_date,
            end: h.end_date,
            expires_at: h.expires_at,
        }
    }
}
