//! Time-based work: approval reminders, escalations and expiries, handover reminders, the release
//! of lapsed capacity holds, and forgetting old platform event ids. `keepable run-due` runs it
//! once; `serve` on a schedule.

use chrono::Duration;
use serde::Serialize;
use serde_json::json;

use super::App;
use crate::app::error::AppError;
use crate::store::{timestamp, Store};

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DueReport {
    pub reminded: usize,
    pub escalated: usize,
    pub expired: usize,
    pub handovers_reminded: usize,
    pub holds_released: usize,
    /// Platform event ids old enough that no retry or replay can still arrive.
    pub events_forgotten: u64,
}

impl App {
    pub async fn run_due(&self) -> Result<DueReport, AppError> {
        let now = self.now_text();
        let mut report = DueReport::default();
        for approval in self.store.approvals_due("expires_at", &now).await? {
            let mut tx = self.store.pool().begin().await?;
            if Store::decide_approval(&mut tx, &approval.id, "expired", "keepable", &now, None).await? {
                let expired = Store::approval_in(&mut tx, &approval.id).await?.unwrap_or(approval.clone());
                self.announce_decision(&mut tx, &expired, &now).await?;
                Store::audit(&mut tx, &now, "keepable", "approval.expired", &approval.id, "").await?;
                report.expired += 1;
            }
            tx.commit().await?;
        }
        for (column, channel, what) in [
            ("escalate_at", self.settings.escalation_channel.clone(), "escalation"),
            ("remind_at", self.settings.leadership_channel.clone(), "approval"),
        ] {
            for approval in self.store.approvals_due(column, &now).await? {
                let mut tx = self.store.pool().begin().await?;
                if Store::clear_approval_timer(&mut tx, &approval.id, column).await? {
                    let subject =
                        format!("{} {} for {} by <@{}>", approval.id, approval.requested_date, approval.package, approval.requester);
                    let context = json!({"what": what, "subject": subject, "since": approval.created_at, "hours": self.settings.approval_escalation_hours});
                    let mut reply = self.reply("reminder", "reminder", context)?.set("approval_id", &approval.id);
                    reply.private = false;
                    reply.actions.push(super::button("approve", &approval.id, "Approve").primary());
                    reply.actions.push(super::button("reject", &approval.id, "Reject").danger());
                    Self::send(&mut tx, format!("approval:{}:{what}", approval.id), format!("channel:{channel}"), &reply, None, &now)
                        .await?;
                    Store::audit(&mut tx, &now, "keepable", &format!("approval.{what}"), &approval.id, &channel).await?;
                    if what == "escalation" {
                        report.escalated += 1;
                    } else {
                        report.reminded += 1;
                    }
                }
                tx.commit().await?;
            }
        }
        for handover in self.store.handovers_to_remind(&now).await? {
            let due = handover.remind_at.clone().unwrap_or_default();
            let next = timestamp(self.clock.now() + Duration::hours(self.settings.handover_reminder_hours));
            let deal = self.store.deal(&handover.deal_id).await?;
            let mut tx = self.store.pool().begin().await?;
            if Store::reschedule_handover_reminder(&mut tx, &handover.id, &due, &next).await? {
                let subject = deal.map(|d| d.name).unwrap_or_else(|| handover.deal_id.clone());
                let context = json!({"what": "handover", "subject": subject, "since": handover.created_at});
                let mut reply = self.reply("reminder", "reminder", context)?.set("handover_id", &handover.id);
                reply.actions.push(super::button("ack_handover", &handover.id, "Acknowledge").primary());
                Self::send(
                    &mut tx,
                    format!("handover:{}:reminder:{due}", handover.id),
                    format!("user:{}", handover.pm),
                    &reply,
                    None,
                    &now,
                )
                .await?;
                Store::audit(&mut tx, &now, "keepable", "handover.reminded", &handover.id, "").await?;
                report.handovers_reminded += 1;
            }
            tx.commit().await?;
        }
        for hold in self.store.expired_holds(&now).await? {
            let mut tx = self.store.pool().begin().await?;
            if Store::release_hold(&mut tx, &hold.id).await? {
                Store::audit(&mut tx, &now, "keepable", "hold.released", &hold.id, &hold.deal_id).await?;
                report.holds_released += 1;
            }
            tx.commit().await?;
        }
        report.events_forgotten = self.store.forget_events_before(&timestamp(self.clock.now() - Duration::days(1))).await?;
        Ok(report)
    }
}
