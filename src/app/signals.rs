//! `/radar` (SPEC 4.6) and `/track-record` (SPEC 4.8) as commands: read history and the deals'
//! promises, apply the pure rules, keep seller rows to those entitled to see them, and word the
//! reply (`prompts/radar.j2`, `prompts/track_record.j2`).
//!
//! Who sees seller rows is decided here, on the server, whatever the adapter: approvers, sales
//! leads and the operator (the command line without `--as`) see every seller; anyone else sees
//! only their own row (a row keyed by their user id, or by an email people.csv gives them).
//! Package and firm figures are for everyone.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::error::AppError;
use super::reply::Reply;
use super::{Actor, App};
use crate::domain::radar::{radar, GroupFigures, Grouping, Signal, Thresholds};
use crate::domain::track_record::{
    exception_record, track_record, Tally, TrackGroup, TrackGrouping,
};

/// `/radar`: the SPEC 6 contract, plus how the reply reads.
#[derive(Debug, Clone, Serialize)]
pub struct RadarAnswer {
    pub by: Grouping,
    pub window_days: i64,
    pub groups: Vec<RadarGroup>,
    pub systemic: bool,
    /// The firm as a whole: the verdict line.
    pub firm: RadarGroup,
    pub thresholds: RadarThresholds,
    pub signal_count: usize,
    pub today: NaiveDate,
    /// Seller rows other than the asker's were left out.
    pub own_row_only: bool,
}

/// One group of the radar: its figures (SPEC 6) and its raised signals worst first.
#[derive(Debug, Clone, Serialize)]
pub struct RadarGroup {
    pub key: String,
    pub n: usize,
    pub change_order_rate: Option<f64>,
    pub margin_fade_points: Option<f64>,
    pub slip_rate: Option<f64>,
    pub median_slip_days: Option<f64>,
    pub optimism_ratio: Option<f64>,
    pub seniority_gap_rate: Option<f64>,
    pub signals: Vec<Signal>,
    /// How the group is named: a package's name, a seller's id or email, "the firm".
    pub label: String,
    /// The label is a platform user id the bot may mention.
    pub mention: bool,
    /// The raised signals, worst first, each with the sample it rests on.
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    pub signal: Signal,
    pub value: Option<f64>,
    pub sample: usize,
    pub threshold: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RadarThresholds {
    pub min_projects: usize,
    pub change_order_rate: f64,
    pub margin_fade_points: f64,
    pub slip_rate: f64,
    pub seniority_gap_rate: f64,
}

impl From<Thresholds> for RadarThresholds {
    fn from(t: Thresholds) -> Self {
        RadarThresholds {
            min_projects: t.min_projects,
            change_order_rate: t.change_order_rate,
            margin_fade_points: t.margin_fade_points,
            slip_rate: t.slip_rate,
            seniority_gap_rate: t.seniority_gap_rate,
        }
    }
}

/// `/track-record`: the SPEC 6 contract, plus how the reply reads.
#[derive(Debug, Clone, Serialize)]
pub struct TrackRecordAnswer {
    pub by: TrackGrouping,
    pub groups: Vec<TrackRow>,
    /// Every promise with an outcome, whoever made it: the headline.
    pub total: Tally,
    pub own_row_only: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrackRow {
    pub key: String,
    #[serde(flatten)]
    pub tally: Tally,
    pub label: String,
    pub mention: bool,
}

/// Whose seller rows an actor may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SellerView {
    /// Approvers, sales leads, the operator.
    Every,
    /// Only the rows keyed by one of these (the user id, emails), lower-cased.
    Own(Vec<String>),
}

impl SellerView {
    pub(crate) fn shows(&self, key: &str) -> bool {
        match self {
            SellerView::Every => true,
            SellerView::Own(identities) => identities.contains(&key.to_lowercase()),
        }
    }
}

/// Whether `key` is a user id the bot may mention on `platform` (`cli` shows either shape): a
/// Slack user id (`U…`/`W…`, capitals and digits) or a Discord snowflake. Anything else (an
/// email, text from a spreadsheet) is shown as text.
pub(crate) fn mentionable(key: &str, platform: &str) -> bool {
    let slack = key.len() >= 2
        && key.starts_with(['U', 'W'])
        && key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    let discord = (15..=21).contains(&key.len()) && key.chars().all(|c| c.is_ascii_digit());
    match platform {
        "slack" => slack,
        "discord" => discord,
        _ => slack || discord,
    }
}

impl App {
    pub(super) async fn radar(&self, actor: &Actor, by: Grouping) -> Result<Reply, AppError> {
        let history = self.store.all_history().await?;
        let roles = self.store.roles().await?;
        let rank = |id: &str| roles.iter().find(|r| r.id == id).map(|r| r.rank);
        let thresholds = self.settings.radar_thresholds();
        let window_days = self.settings.radar_window_days;
        let radar = radar(&history, self.today(), window_days, by, &thresholds, &rank);
        let view = match by {
            Grouping::Seller => self.seller_view(actor).await?,
            _ => SellerView::Every,
        };
        let names = self.package_names().await?;
        let group = |g: &GroupFigures| self.radar_group(g, by, &names, &thresholds);
        let groups: Vec<RadarGroup> =
            radar.groups.iter().filter(|g| view.shows(&g.key)).map(group).collect();
        let answer = RadarAnswer {
            by,
            window_days,
            systemic: radar.systemic,
            firm: self.radar_group(&radar.firm, Grouping::Firm, &names, &thresholds),
            thresholds: thresholds.into(),
            signal_count: Signal::ALL.len(),
            today: self.today(),
            own_row_only: view != SellerView::Every,
            groups,
        };
        // Groups with signals first (most signals first), then the quiet ones, for the text.
        let mut flagged: Vec<usize> =
            (0..answer.groups.len()).filter(|i| !answer.groups[*i].signals.is_empty()).collect();
        flagged.sort_by_key(|i| std::cmp::Reverse(answer.groups[*i].signals.len()));
        let quiet: Vec<usize> =
            (0..answer.groups.len()).filter(|i| answer.groups[*i].signals.is_empty()).collect();
        let mut reply = self.answer_with(
            "radar",
            &answer,
            serde_json::json!({"flagged": flagged, "quiet": quiet}),
        )?;
        reply.chart = super::charts::radar_chart(&answer)
            .map_err(anyhow::Error::from)?
            .map(std::sync::Arc::new);
        Ok(reply)
    }

    fn radar_group(
        &self,
        g: &GroupFigures,
        by: Grouping,
        names: &HashMap<String, String>,
        thresholds: &Thresholds,
    ) -> RadarGroup {
        let (label, mention) = self.group_label(&g.key, by, names);
        let warnings = g
            .signals_worst_first(thresholds)
            .into_iter()
            .map(|signal| {
                let (figure, threshold) = g.figure(signal, thresholds);
                Warning { signal, value: figure.value, sample: figure.sample, threshold }
            })
            .collect();
        RadarGroup {
            key: g.key.clone(),
            n: g.n,
            change_order_rate: g.change_order_rate.value,
            margin_fade_points: g.margin_fade_points.value,
            slip_rate: g.slip_rate.value,
            median_slip_days: g.median_slip_days,
            optimism_ratio: g.optimism_ratio,
            seniority_gap_rate: g.seniority_gap_rate.value,
            signals: g.signals.clone(),
            label,
            mention,
            warnings,
        }
    }

    /// How a group is named in the reply, and whether the name is a mention.
    fn group_label(
        &self,
        key: &str,
        by: Grouping,
        names: &HashMap<String, String>,
    ) -> (String, bool) {
        match by {
            Grouping::Seller => (key.to_string(), mentionable(key, self.platform)),
            Grouping::Firm => ("the firm".to_string(), false),
            Grouping::Package => {
                (names.get(key).cloned().unwrap_or_else(|| key.to_string()), false)
            }
        }
    }

    pub(super) async fn track_record(
        &self,
        actor: &Actor,
        by: TrackGrouping,
    ) -> Result<Reply, AppError> {
        let promises = self.store.promises().await?;
        let history = self.store.all_history().await?;
        let record = track_record(&promises, &history, by);
        let view = match by {
            TrackGrouping::Seller => self.seller_view(actor).await?,
            TrackGrouping::Package => SellerView::Every,
        };
        let names = self.package_names().await?;
        let grouping = match by {
            TrackGrouping::Seller => Grouping::Seller,
            TrackGrouping::Package => Grouping::Package,
        };
        let row = |g: TrackGroup| {
            let (label, mention) = self.group_label(&g.key, grouping, &names);
            TrackRow { key: g.key, tally: g.tally, label, mention }
        };
        let mut total = Tally::default();
        for group in &record {
            total.absorb(&group.tally);
        }
        let answer = TrackRecordAnswer {
            by,
            groups: record.into_iter().filter(|g| view.shows(&g.key)).map(row).collect(),
            total,
            own_row_only: view != SellerView::Every,
        };
        self.answer("track_record", &answer)
    }

    /// How the approved deadline exceptions of `package` ended, for its approval card.
    pub(crate) async fn exception_track_record(&self, package: &str) -> Result<Tally, AppError> {
        let promises = self.store.promises().await?;
        let history = self.store.all_history().await?;
        Ok(exception_record(&promises, &history, package))
    }

    /// Whose seller rows `actor` may see (SPEC 4.6, last bullet).
    pub(crate) async fn seller_view(&self, actor: &Actor) -> Result<SellerView, AppError> {
        let (user, groups) = (actor.user.as_str(), actor.groups.as_slice());
        if actor.operator
            || self.approvers().contains(user, groups)
            || self.sales_leads().contains(user, groups)
        {
            return Ok(SellerView::Every);
        }
        let mut identities = vec![user.to_lowercase()];
        identities.extend(self.store.emails_of(user).await?.iter().map(|e| e.to_lowercase()));
        Ok(SellerView::Own(identities))
    }

    /// Package names by id, retired packages included (history keeps them).
    pub(crate) async fn package_names(&self) -> Result<HashMap<String, String>, AppError> {
        let mut names = HashMap::new();
        for package in self.store.all_packages().await? {
            names.insert(package.id, package.name);
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_platform_user_ids_are_mentioned() {
        assert!(mentionable("U024BE7LH", "slack"));
        assert!(mentionable("U-SELL01", "cli"));
        assert!(!mentionable("123456789012345678", "slack"));
        assert!(mentionable("123456789012345678", "discord"));
        assert!(!mentionable("U024BE7LH", "discord"));
        assert!(!mentionable("ann@northwind.example", "cli"));
        assert!(!mentionable("U1> <!channel", "slack"));
        assert!(!mentionable("u1", "slack"));
    }

    #[test]
    fn a_seller_sees_the_rows_keyed_by_their_id_or_email() {
        let own = SellerView::Own(vec!["u-ann".into(), "ann@northwind.example".into()]);
        assert!(own.shows("U-ANN"));
        assert!(own.shows("Ann@Northwind.example"));
        assert!(!own.shows("U-BOB"));
        assert!(SellerView::Every.shows("U-BOB"));
    }
}
