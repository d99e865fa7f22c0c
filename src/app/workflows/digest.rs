//! The weekly digest (SPEC 5.7): on `digest_weekday`, in the firm's time zone, `run-due` posts
//! the firm's radar (by package, and the firm's verdict) to the leadership channel, saying only
//! the warning signs that are new or worse than in the last digest, with an Acknowledge button.
//!
//! Once per ISO week whatever the number of instances: the week's `digests` row is inserted
//! (`ON CONFLICT DO NOTHING`) in the same transaction as the outbox message, and only the run
//! that inserted it sends. The row keeps every signal raised, for next week's comparison.

use chrono::Datelike;
use serde_json::json;

use super::{button, App};
use crate::app::action::Action;
use crate::app::error::{AppError, UserError};
use crate::app::reply::{Reply, Target};
use crate::app::text::user;
use crate::app::Actor;
use crate::chart::{Chart, Rates};
use crate::domain::digest::{digest_week, new_or_worse, Digest, DigestChange, DigestSignal};
use crate::domain::radar::{radar, GroupFigures, Grouping, Radar, Signal, FIRM_KEY};

impl App {
    /// Posts this week's digest when today is `digest_weekday` and no run has posted it yet;
    /// true when this run did.
    pub(super) async fn post_digest(&self) -> Result<bool, AppError> {
        let today = self.today();
        if today.weekday() != self.settings.digest_weekday {
            return Ok(false);
        }
        let week = digest_week(today);
        if self.store.digest(&week).await?.is_some() {
            return Ok(false);
        }
        let radar = self.firm_radar().await?;
        let signals = digest_signals(&radar, &self.settings.radar_thresholds());
        let last = self.store.digest_before(&week).await?;
        let changes = new_or_worse(&signals, last.as_ref().map_or(&[], |d| d.signals.as_slice()));
        let reply = self.digest_reply(&week, &radar, &changes, last.is_some()).await?;
        let reply = reply.with_chart(self.digest_chart(&week, &radar).await?);
        let mut tx = self.store.begin().await?;
        if !tx.insert_digest(&week, self.clock.now(), &signals).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let channel = self.channel(&self.settings.leadership_channel);
        let target = Target::Channel(channel.clone());
        let key = format!("digest:{week}");
        let id = self.send(&mut tx, "keepable", key, target, &reply, None).await?;
        tx.set_digest_message(&week, id).await?;
        self.audit(&mut tx, "keepable", "digest.posted", &week, &channel).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The radar by package as of today, with the firm as a whole.
    async fn firm_radar(&self) -> Result<Radar, AppError> {
        let history = self.store.all_history().await?;
        let roles = self.store.roles().await?;
        let rank = |id: &str| roles.iter().find(|r| r.id == id).map(|r| r.rank);
        let thresholds = self.settings.radar_thresholds();
        let window = self.settings.radar_window_days;
        Ok(radar(&history, self.today(), window, Grouping::Package, &thresholds, &rank))
    }

    /// The week's radar as a picture: each package's four figures against their thresholds,
    /// then the firm's.
    async fn digest_chart(&self, week: &str, radar: &Radar) -> Result<Chart, AppError> {
        let names = self.package_names().await?;
        let t = self.settings.radar_thresholds();
        let thresholds =
            [t.change_order_rate, t.margin_fade_points, t.slip_rate, t.seniority_gap_rate];
        let title = format!("Warning signs by package, {week}");
        let packages =
            radar.groups.iter().map(|g| (names.get(&g.key).unwrap_or(&g.key).clone(), g));
        let firm = std::iter::once(("The firm".to_string(), &radar.firm));
        let chart =
            packages.chain(firm).try_fold(Rates::radar(title, thresholds), |chart, (label, g)| {
                let figures =
                    [g.change_order_rate, g.margin_fade_points, g.slip_rate, g.seniority_gap_rate];
                chart.group(label, figures.iter().map(|f| f.value).collect())
            });
        Ok(Chart::Rates(chart.map_err(anyhow::Error::from)?))
    }

    /// The digest's message: the verdict, the news (or "no change"), the Acknowledge button.
    async fn digest_reply(
        &self,
        week: &str,
        radar: &Radar,
        changes: &[DigestChange],
        had_last: bool,
    ) -> Result<Reply, AppError> {
        let names = self.package_names().await?;
        let label = |c: &DigestChange| match c.now.by {
            Grouping::Firm => "The firm".to_string(),
            _ => user(names.get(&c.now.key).map_or(&c.now.key, |name| name)),
        };
        let changes: Vec<serde_json::Value> = changes
            .iter()
            .map(|c| json!({"label": label(c), "signal": c.now.signal, "value": c.now.value, "sample": c.now.sample, "was": c.was}))
            .collect();
        let context = json!({
            "week": week,
            "today": self.today(),
            "window_days": radar.window_days,
            "firm_n": radar.firm.n,
            "firm_signals": radar.firm.signals,
            "systemic": radar.systemic,
            "signal_count": Signal::ALL.len(),
            "changes": changes,
            "had_last": had_last,
        });
        let mut reply = self.reply("digest", "digest", context)?.set("week", week);
        reply.private = false;
        let acknowledge = Action::AcknowledgeDigest(week.to_string());
        reply.actions.push(button(acknowledge, "Acknowledge").primary());
        Ok(reply)
    }

    /// Records who acknowledged `week`'s digest and shows it on the leadership message; only
    /// approvers and sales leads may (others are refused privately, and audited), and once.
    pub(super) async fn acknowledge_digest(
        &self,
        actor: &Actor,
        week: &str,
    ) -> Result<Reply, AppError> {
        let digest = self.store.digest(week).await?.ok_or(UserError::UnknownAction)?;
        let (user_id, groups) = (actor.user.as_str(), actor.groups.as_slice());
        let leadership = self.approvers().contains(user_id, groups)
            || self.sales_leads().contains(user_id, groups);
        if let Err(refusal) = digest.check_acknowledge(leadership) {
            return Err(self.refused(actor, "digest.ack_refused", week, refusal.to_string()).await);
        }
        let now = self.clock.now();
        let acknowledged = Digest {
            acknowledged_by: Some(actor.user.clone()),
            acknowledged_at: Some(now),
            ..digest
        };
        let updated = match acknowledged.message_id {
            Some(id) => self.store.outbox_message(id).await?.map(|m| (id, m.target, m.reply)),
            None => None,
        };
        let mut tx = self.store.begin().await?;
        if !tx.acknowledge_digest(week, &actor.user, now).await? {
            tx.rollback().await?;
            let current = self.store.digest(week).await?.ok_or(UserError::UnknownAction)?;
            let message = current.check_acknowledge(true).err().map(|r| r.to_string());
            let message = message.unwrap_or_else(|| "This digest was already acknowledged.".into());
            return Err(self.refused(actor, "digest.ack_refused", week, message).await);
        }
        if let Some((id, target, card)) = updated {
            let card = acknowledged_card(card, &actor.user);
            let key = format!("digest:{week}:acked");
            self.send(&mut tx, &actor.user, key, target, &card, Some(id)).await?;
        }
        self.audit(&mut tx, &actor.user, "digest.acknowledged", week, "").await?;
        tx.commit().await?;
        let mut reply = Reply::new("digest_acknowledged");
        reply.headline = format!("You acknowledged the weekly radar digest of {week}.");
        Ok(reply.set("week", week))
    }
}

/// The posted digest as it reads once acknowledged: the same news, who acknowledged it, and no
/// button left to press.
fn acknowledged_card(mut card: Reply, by: &str) -> Reply {
    card.actions.clear();
    card.body = format!("{}\n\nAcknowledged by <@{by}>.", card.body).trim().to_string();
    card
}

/// Every signal the radar raises for a package or for the firm, as the digest records it.
fn digest_signals(
    radar: &Radar,
    thresholds: &crate::domain::radar::Thresholds,
) -> Vec<DigestSignal> {
    let groups = radar.groups.iter().map(|g| (Grouping::Package, g));
    let firm = std::iter::once((Grouping::Firm, &radar.firm));
    firm.chain(groups).flat_map(|(by, g)| group_signals(by, g, thresholds)).collect()
}

fn group_signals(
    by: Grouping,
    g: &GroupFigures,
    thresholds: &crate::domain::radar::Thresholds,
) -> Vec<DigestSignal> {
    g.signals_worst_first(thresholds)
        .into_iter()
        .filter_map(|signal| {
            let (figure, threshold) = g.figure(signal, thresholds);
            let key = if by == Grouping::Firm { FIRM_KEY.to_string() } else { g.key.clone() };
            Some(DigestSignal {
                by,
                key,
                signal,
                value: figure.value?,
                sample: figure.sample,
                threshold,
            })
        })
        .collect()
}
