//! Time-based work: approval reminders, escalations and expiries, handover reminders, the expiry
//! of lapsed capacity holds, forgetting old platform event ids, and the weekly radar digest. `keepable run-due` runs it
//! once; `serve` on a schedule.

use chrono::Duration;
use serde::Serialize;
use serde_json::json;

use super::{button, App};
use crate::app::action::Action;
use crate::app::error::AppError;
use crate::app::reply::Target;
use crate::domain::approval::{Approval, ApprovalState, ApprovalTimer};
use crate::domain::handover::Handover;
use crate::domain::hold::{HoldEvent, HoldState};

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DueReport {
    pub reminded: usize,
    pub escalated: usize,
    pub expired: usize,
    pub handovers_reminded: usize,
    /// Lapsed holds whose tentative bookings were let go.
    pub holds_released: usize,
    /// Platform event ids old enough that no retry or replay can still arrive.
    pub events_forgotten: u64,
    /// This run posted the week's radar digest to leadership (SPEC 5.7).
    pub digest_posted: bool,
}

impl App {
    pub async fn run_due(&self) -> Result<DueReport, AppError> {
        Ok(DueReport {
            expired: self.expire_approvals().await?,
            escalated: self.chase_approvals(ApprovalTimer::Escalation).await?,
            reminded: self.chase_approvals(ApprovalTimer::Reminder).await?,
            handovers_reminded: self.remind_handovers().await?,
            holds_released: self.expire_holds().await?,
            events_forgotten: self
                .store
                .forget_events_before(self.clock.now() - Duration::days(1))
                .await?,
            digest_posted: self.post_digest().await?,
        })
    }

    async fn expire_approvals(&self) -> Result<usize, AppError> {
        let mut expired = 0;
        for approval in self.store.approvals_due(ApprovalTimer::Expiry, self.clock.now()).await? {
            if self.expire_approval(&approval.id).await? {
                expired += 1;
            }
        }
        Ok(expired)
    }

    /// Expires a pending request: its card updated, the requester told; false when it was
    /// decided (or expired) by someone else first.
    pub(super) async fn expire_approval(&self, id: &str) -> Result<bool, AppError> {
        // The card's evidence, read before the transaction, which must not wait on the pool.
        let record = match self.store.approval(id).await? {
            Some(approval) => self.exceptions_ended(&approval).await?,
            None => serde_json::Value::Null,
        };
        let mut tx = self.store.begin().await?;
        if !tx
            .decide_approval(id, ApprovalState::Expired, "keepable", self.clock.now(), None)
            .await?
        {
            tx.rollback().await?;
            return Ok(false);
        }
        let decided = tx.approval(id).await?;
        self.announce_decision(&mut tx, &decided, &record).await?;
        self.audit(&mut tx, "keepable", "approval.expired", id, "").await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Reminds leadership of (or escalates) pending requests whose `timer` is due.
    async fn chase_approvals(&self, timer: ApprovalTimer) -> Result<usize, AppError> {
        let (setting, what) = match timer {
            ApprovalTimer::Escalation => (&self.settings.escalation_channel, "escalation"),
            _ => (&self.settings.leadership_channel, "approval"),
        };
        let mut chased = 0;
        for approval in self.store.approvals_due(timer, self.clock.now()).await? {
            // On the platform where the request's card went (one instance may serve both).
            let card = match approval.message_id {
                Some(id) => self.store.outbox_message(id).await?,
                None => None,
            };
            let platform = card.map(|m| {
                let (Target::Channel(id) | Target::User(id)) = &m.target;
                crate::config::platform_of(id)
            });
            let channel = crate::config::pick_channel(setting, platform);
            let mut tx = self.store.begin().await?;
            if tx.clear_approval_timer(&approval.id, timer).await? {
                let reply = self.approval_reminder(&approval, what)?;
                let key = format!("approval:{}:{what}", approval.id);
                self.send(&mut tx, "keepable", key, Target::Channel(channel.clone()), &reply, None)
                    .await?;
                self.audit(
                    &mut tx,
                    "keepable",
                    &format!("approval.{what}"),
                    &approval.id,
                    &channel,
                )
                .await?;
                chased += 1;
            }
            tx.commit().await?;
        }
        Ok(chased)
    }

    pub(super) fn approval_reminder(
        &self,
        approval: &Approval,
        what: &str,
    ) -> Result<crate::app::reply::Reply, AppError> {
        let subject = format!(
            "{} {} for {} by <@{}>",
            approval.id, approval.requested_date, approval.package, approval.requester
        );
        let context = json!({"what": what, "subject": subject, "since": approval.created_at, "hours": self.settings.approval_escalation_hours});
        let mut reply =
            self.reply("reminder", "reminder", context)?.set("approval_id", &approval.id);
        reply.private = false;
        reply.actions.push(button(Action::Approve(approval.id.clone()), "Approve").primary());
        reply.actions.push(button(Action::Reject(approval.id.clone()), "Reject").danger());
        Ok(reply)
    }

    async fn remind_handovers(&self) -> Result<usize, AppError> {
        let mut reminded = 0;
        for handover in self.store.handovers_to_remind(self.clock.now()).await? {
            let Some(due) = handover.remind_at else { continue };
            let next = self.clock.now() + Duration::hours(self.settings.handover_reminder_hours);
            let deal = self.store.deal(&handover.deal_id).await?;
            let mut tx = self.store.begin().await?;
            if tx.reschedule_handover_reminder(&handover.id, due, next).await? {
                let subject = deal.map(|d| d.name).unwrap_or_else(|| handover.deal_id.clone());
                let reply = self.handover_reminder(&handover, &subject)?;
                let key =
                    format!("handover:{}:reminder:{}", handover.id, crate::store::timestamp(due));
                self.send(
                    &mut tx,
                    "keepable",
                    key,
                    Target::User(handover.pm.clone()),
                    &reply,
                    None,
                )
                .await?;
                self.audit(&mut tx, "keepable", "handover.reminded", &handover.id, "").await?;
                reminded += 1;
            }
            tx.commit().await?;
        }
        Ok(reminded)
    }

    fn handover_reminder(
        &self,
        handover: &Handover,
        subject: &str,
    ) -> Result<crate::app::reply::Reply, AppError> {
        let context = json!({"what": "handover", "subject": subject, "since": handover.created_at});
        let mut reply =
            self.reply("reminder", "reminder", context)?.set("handover_id", &handover.id);
        reply.actions.push(
            button(Action::AcknowledgeHandover(handover.id.clone()), "Acknowledge").primary(),
        );
        Ok(reply)
    }

    /// Lapsed holds expire: their tentative bookings go back to capacity.
    async fn expire_holds(&self) -> Result<usize, AppError> {
        let mut expired = 0;
        for hold in self.store.lapsed_holds(self.clock.now()).await? {
            let to = HoldState::Active
                .after(HoldEvent::Expire)
                .map_err(crate::app::error::UserError::from)?;
            let mut tx = self.store.begin().await?;
            if tx.end_hold(&hold.id, to).await? {
                self.audit(&mut tx, "keepable", "hold.expired", &hold.id, &hold.deal_id).await?;
                expired += 1;
            }
            tx.commit().await?;
        }
        Ok(expired)
    }
}
