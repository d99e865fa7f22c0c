//! Approvals routed to leadership (SPEC 5.2): request, authorise on the server, decide once. Who
//! may decide is `domain::approval::check_decision`.

use crate::app::refresh::Freshness;
use chrono::NaiveDate;
use serde_json::json;

use super::commitments::Pledge;
use super::{button, new_id, App};
use crate::app::action::Action;
use crate::app::error::{AppError, UserError};
use crate::app::reply::{Reply, Target};
use crate::app::Actor;
use crate::domain::approval::{
    check_decision, Approval, ApprovalDecision, ApprovalKind, ApprovalState, ApprovalTimers,
    DeadlineEvidence, Decider, DecisionRefusal, EarlyStartEvidence, Evidence,
};
use crate::domain::deal::{CommitmentDetails, CommitmentKind, Deal};
use crate::domain::offer::{Offer, OfferKind, OfferTerms};
use crate::store::Tx;

/// What an approval request asks for, before it is stored.
struct Request {
    offer_id: String,
    package: String,
    requested_date: NaiveDate,
    start_date: Option<NaiveDate>,
    evidence: Evidence,
}

impl App {
    /// "Request approval" on a comparables answer whose deadline the rule does not support.
    pub(super) async fn request_deadline_approval(
        &self,
        actor: &Actor,
        offer_id: &str,
    ) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, offer_id, OfferKind::Deadline).await?;
        if let Some(first) = self.store.approval_for_offer(&offer.id).await? {
            return self.already_requested(&first);
        }
        let OfferTerms::Deadline(p) = &offer.terms else {
            return Err(UserError::UnknownAction.into());
        };
        if p.deadline <= self.today() || p.start.is_some_and(|start| p.deadline < start) {
            let message = format!(
                "The deadline {} is in the past or before the start: it cannot be approved. Ask again with a later deadline.",
                p.deadline
            );
            return Err(self.refused(actor, "approval.refused", &offer.id, message).await);
        }
        let evidence = Evidence::Deadline(DeadlineEvidence {
            n: p.n,
            p10_days: p.p10_days,
            p50_days: p.p50_days,
            p90_days: p.p90_days,
            requested_days: p.requested_days,
            share_within: p.share_within,
            effort: p.effort,
            start: p.start,
        });
        let request = Request {
            offer_id: offer.id.clone(),
            package: p.package.clone(),
            requested_date: p.deadline,
            start_date: p.start,
            evidence,
        };
        self.request_approval(actor, &offer, request).await
    }

    /// "Ask for an earlier start": a start before the computed earliest start.
    pub(super) async fn request_early_start(
        &self,
        actor: &Actor,
        offer_id: &str,
        date: NaiveDate,
    ) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, offer_id, OfferKind::Start).await?;
        if let Some(first) = self.store.approval_for_offer(&offer.id).await? {
            return self.already_requested(&first);
        }
        let OfferTerms::Start(p) = &offer.terms else {
            return Err(UserError::UnknownAction.into());
        };
        let earliest = p.start;
        if date >= earliest {
            return Err(
                UserError::Refused(format!("{date} is not earlier than the earliest start {earliest}: commit the start instead.")).into()
            );
        }
        if date <= self.today() {
            return Err(UserError::Refused(format!("{date} is not in the future.")).into());
        }
        let package = p.package.clone().ok_or(UserError::Refused(
            "An earlier start can be requested for a package only.".into(),
        ))?;
        let evidence = Evidence::EarlyStart(EarlyStartEvidence {
            earliest_start: earliest,
            ignoring_tentative: p.ignoring_tentative,
            roles: p.roles.clone(),
            weeks: p.weeks,
        });
        let request = Request {
            offer_id: offer.id.clone(),
            package,
            requested_date: date,
            start_date: Some(earliest),
            evidence,
        };
        self.request_approval(actor, &offer, request).await
    }

    /// What an earlier press of the same button asked for.
    fn already_requested(&self, first: &Approval) -> Result<Reply, AppError> {
        let mut reply = Reply::new("approval_requested");
        reply.headline = format!(
            "Already requested: {} (request {}, {}). Pressing again changes nothing.",
            first.describe(),
            first.id,
            first.state
        );
        Ok(reply.set("approval_id", &first.id).set("state", first.state).set("already", true))
    }

    async fn request_approval(
        &self,
        actor: &Actor,
        offer: &Offer,
        request: Request,
    ) -> Result<Reply, AppError> {
        if self.approvers().is_empty() {
            return Err(UserError::Refused(crate::app::engines::NO_APPROVERS.into()).into());
        }
        let deal = match self.current_deal(actor, Some(offer)).await {
            Ok(deal) => {
                self.check_deal_change(actor, &deal, "approval").await?;
                Some(deal)
            }
            Err(_) => None,
        };
        let kind = request.evidence.kind();
        if let Some(pending) = self.live_pending(deal.as_ref(), kind).await? {
            let mut reply = Reply::new("approval_requested");
            reply.headline = format!(
                "A request for {} is already pending (request {}): leadership decides that one first.",
                pending.describe(),
                pending.id
            );
            return Ok(reply
                .set("approval_id", &pending.id)
                .set("state", pending.state)
                .set("pending", true));
        }
        let approval = self.new_approval(actor, deal.as_ref().map(|d| d.id.clone()), request);
        let capacity = self.freshness().await?;
        let record = self.exceptions_ended(&approval).await?;
        let card = self.approval_card(
            &approval,
            deal.as_ref().map(|d| d.name.as_str()),
            &capacity,
            &record,
        )?;
        let mut tx = self.store.begin().await?;
        if let Err(conflict) = tx.insert_approval(&approval).await {
            // Pressed twice at once, or another request of this kind landed first.
            tx.rollback().await?;
            let first = match &approval.offer_id {
                Some(offer) => self.store.approval_for_offer(offer).await?,
                None => None,
            };
            return match first.or(self.live_pending(deal.as_ref(), kind).await?) {
                Some(first) => self.already_requested(&first),
                None => Err(conflict.into()),
            };
        }
        let target = Target::Channel(self.channel(&self.settings.leadership_channel));
        let key = format!("approval:{}:card", approval.id);
        let message_id = self.send(&mut tx, &actor.user, key, target, &card, None).await?;
        tx.set_approval_message(&approval.id, message_id).await?;
        let details = format!("{} {}", approval.kind(), approval.requested_date);
        self.audit(&mut tx, &actor.user, "approval.requested", &approval.id, &details).await?;
        tx.commit().await?;
        let context = json!({"id": approval.id, "what": approval.describe()});
        Ok(self
            .reply("approval_requested", "approval_request", context)?
            .set("approval_id", &approval.id)
            .set("approval_kind", approval.kind())
            .set("state", approval.state)
            .set("requested_date", approval.requested_date)
            .set("deal_id", &approval.deal_id))
    }

    /// The deal's pending request of `kind` that can still be decided; one past its expiry is
    /// expired now, not left for the sweep, so it never blocks a new request.
    async fn live_pending(
        &self,
        deal: Option<&Deal>,
        kind: ApprovalKind,
    ) -> Result<Option<Approval>, AppError> {
        let Some(deal) = deal else { return Ok(None) };
        match self.store.pending_approval(&deal.id, kind).await? {
            Some(stale) if self.clock.now() >= stale.expires_at => {
                self.expire_approval(&stale.id).await?;
                Ok(None)
            }
            pending => Ok(pending),
        }
    }

    /// A pending request for `request`, with its reminder, escalation and expiry scheduled.
    fn new_approval(&self, actor: &Actor, deal_id: Option<String>, request: Request) -> Approval {
        let now = self.clock.now();
        let s = &self.settings;
        let timers = ApprovalTimers {
            reminder_hours: s.approval_reminder_hours,
            escalation_hours: s.approval_escalation_hours,
            expiry_hours: s.approval_expiry_hours,
        };
        let schedule = timers.schedule(now);
        Approval {
            id: new_id("A", 6),
            deal_id,
            package: request.package,
            requester: actor.user.clone(),
            channel: actor.channel.clone(),
            requested_date: request.requested_date,
            start_date: request.start_date,
            evidence: request.evidence,
            state: ApprovalState::Pending,
            decided_by: None,
            decided_at: None,
            reason: None,
            message_id: None,
            created_at: now,
            remind_at: Some(schedule.remind_at),
            escalate_at: Some(schedule.escalate_at),
            expires_at: schedule.expires_at,
            offer_id: Some(request.offer_id),
        }
    }

    /// For a deadline request: how the package's approved deadline exceptions ended (SPEC 4.8),
    /// the card's evidence of how exceptions end.
    pub(super) async fn exceptions_ended(
        &self,
        approval: &Approval,
    ) -> Result<serde_json::Value, AppError> {
        if approval.kind() != ApprovalKind::Deadline {
            return Ok(serde_json::Value::Null);
        }
        let tally = self.exception_track_record(&approval.package).await?;
        let package = self.store.package_by_id(&approval.package).await?;
        let name = package.map(|p| p.name).unwrap_or_else(|| approval.package.clone());
        Ok(
            json!({"package_name": name, "exceptions": tally.exceptions, "kept": tally.exceptions_kept}),
        )
    }

    /// The leadership card, with Approve / Reject while pending.
    fn approval_card(
        &self,
        approval: &Approval,
        deal_name: Option<&str>,
        capacity: &Freshness,
        exceptions: &serde_json::Value,
    ) -> Result<Reply, AppError> {
        let kind_label = match approval.kind() {
            ApprovalKind::Deadline => "Deadline",
            ApprovalKind::EarlyStart => "Early start",
        };
        let context = json!({
            "id": approval.id, "kind_label": kind_label, "what": approval.describe(), "requester": approval.requester,
            "deal_name": deal_name, "evidence": approval.evidence, "state": approval.state,
            "decided_by": approval.decided_by, "decided_at": approval.decided_at, "reason": approval.reason,
            "capacity": capacity, "exceptions_ended": exceptions,
        });
        let mut card = self
            .reply("approval_card", "approval_card", context)?
            .set("approval_id", &approval.id)
            .set("state", approval.state);
        card.private = false;
        if approval.state == ApprovalState::Pending {
            card.actions.push(button(Action::Approve(approval.id.clone()), "Approve").primary());
            card.actions.push(button(Action::Reject(approval.id.clone()), "Reject").danger());
        }
        Ok(card)
    }

    /// The reminders and escalations of a decided request lose their buttons where they were
    /// posted, and say how it ended.
    async fn settle_reminders(&self, tx: &mut Tx, approval: &Approval) -> Result<(), AppError> {
        for what in ["approval", "escalation"] {
            let Some(posted) = tx.outbox_id(&format!("approval:{}:{what}", approval.id)).await?
            else {
                continue;
            };
            // The update goes where the reminder went.
            let Some(target) = tx.outbox_target(posted).await? else { continue };
            let mut settled = self.approval_reminder(approval, what)?;
            settled.actions.clear();
            settled.headline = match (approval.state, &approval.decided_by) {
                (ApprovalState::Expired, _) => format!(
                    "Expired: {} (request {}); nobody decided in time.",
                    approval.describe(),
                    approval.id
                ),
                (state, by) => format!(
                    "Decided: {} (request {}) was {state} by <@{}>.",
                    approval.describe(),
                    approval.id,
                    by.clone().unwrap_or_default()
                ),
            };
            let key = format!("approval:{}:{what}:{}", approval.id, approval.state);
            self.send(tx, decided_by(approval), key, target, &settled, Some(posted)).await?;
        }
        Ok(())
    }

    /// Why a click was refused, with the decider as a mention and times in the firm's zone.
    fn refusal_text(&self, refusal: &DecisionRefusal) -> String {
        let at = |at: &chrono::DateTime<chrono::Utc>| {
            at.with_timezone(&self.zone).format("%a %-d %b %Y, %H:%M %Z").to_string()
        };
        match refusal {
            DecisionRefusal::AlreadyDecided { state, by, at: when } => {
                format!("This request was already {state} by <@{by}> at {}.", at(when))
            }
            DecisionRefusal::Expired { at: when } => format!(
                "This request expired at {} without a decision; ask for a new one.",
                at(when)
            ),
            other => other.to_string(),
        }
    }

    /// Approve (reason `None`) or reject; authorised on the server, decided at most once.
    pub(super) async fn decide(
        &self,
        actor: &Actor,
        id: &str,
        reason: Option<String>,
    ) -> Result<Reply, AppError> {
        let approval = self.store.approval(id).await?.ok_or(UserError::UnknownAction)?;
        let decision = match reason {
            None => ApprovalDecision::Approve,
            Some(reason) => ApprovalDecision::Reject { reason: reason.trim().to_string() },
        };
        let decider = Decider { user: &actor.user, groups: &actor.groups };
        let now = self.clock.now();
        if let Err(refusal) = check_decision(&approval, decider, &self.approvers(), &decision, now)
        {
            let message = self.refusal_text(&refusal);
            return Err(self.refused(actor, "approval.refused", id, message).await);
        }
        let state = decision.resulting_state();
        // Read before the decision's transaction, which must not wait on the pool.
        let record = self.exceptions_ended(&approval).await?;
        let mut tx = self.store.begin().await?;
        // The conditional update comes first: the first valid click wins, in any process.
        if !tx.decide_approval(id, state, &actor.user, now, decision.reason()).await? {
            let current = tx.approval(id).await?;
            tx.rollback().await?;
            let refusal =
                check_decision(&current, decider, &self.approvers(), &decision, now).err();
            let message = refusal
                .map(|r| self.refusal_text(&r))
                .unwrap_or_else(|| "This request was decided by someone else.".into());
            return Err(self.refused(actor, "approval.refused", id, message).await);
        }
        let decided = tx.approval(id).await?;
        self.announce_decision(&mut tx, &decided, &record).await?;
        self.audit(
            &mut tx,
            &actor.user,
            &format!("approval.{state}"),
            id,
            decision.reason().unwrap_or(""),
        )
        .await?;
        tx.commit().await?;
        let context = json!({"id": id, "what": decided.describe(), "state": decided.state, "decided_by": decided.decided_by, "decided_at": decided.decided_at, "reason": decided.reason});
        Ok(self
            .reply("approval_decided", "approval_decided", context)?
            .set("approval_id", id)
            .set("state", decided.state)
            .set("decided_by", &decided.decided_by)
            .set("decided_at", decided.decided_at)
            .set("reason", &decided.reason))
    }

    /// After a decision or expiry: the card updated in place (with `record`, the package's
    /// exceptions as `exceptions_ended` read them before the transaction), the seller told, the
    /// deal updated.
    pub(super) async fn announce_decision(
        &self,
        tx: &mut Tx,
        approval: &Approval,
        record: &serde_json::Value,
    ) -> Result<(), AppError> {
        let deal = match &approval.deal_id {
            Some(id) => tx.deal(id).await?,
            None => None,
        };
        let capacity = self.freshness_of(tx.last_import().await?);
        let card = self.approval_card(
            approval,
            deal.as_ref().map(|d| d.name.as_str()),
            &capacity,
            record,
        )?;
        let leadership = Target::Channel(self.channel(&self.settings.leadership_channel));
        let key = format!("approval:{}:card:{}", approval.id, approval.state);
        self.send(tx, decided_by(approval), key, leadership, &card, approval.message_id).await?;
        let context = json!({"id": approval.id, "what": approval.describe(), "state": approval.state, "decided_by": approval.decided_by, "reason": approval.reason});
        let notice = self
            .reply("approval_notice", "approval_notice", context)?
            .set("approval_id", &approval.id)
            .set("state", approval.state);
        let requester = Target::User(approval.requester.clone());
        let key = format!("approval:{}:notice", approval.id);
        self.send(tx, decided_by(approval), key, requester, &notice, None).await?;
        self.settle_reminders(tx, approval).await?;
        if let (Some(deal), ApprovalState::Approved) = (&deal, approval.state) {
            let kind = match approval.kind() {
                ApprovalKind::Deadline => CommitmentKind::Deadline,
                ApprovalKind::EarlyStart => CommitmentKind::Start,
            };
            let by = approval.decided_by.clone().unwrap_or_default();
            let pledge = Pledge {
                kind,
                value: approval.requested_date.to_string(),
                summary: format!("{} (an exception approved by {by})", approval.describe()),
                source: format!("approval {}", approval.id),
                details: CommitmentDetails::Approval(approval.evidence.clone()),
            };
            let requester = Actor::new(approval.requester.clone(), approval.channel.clone());
            let commitment =
                self.commitment(&requester, deal, None, Some(approval.id.clone()), &pledge);
            tx.record_commitment(&commitment).await?;
        }
        Ok(())
    }
}

/// Who decided a request (`keepable` for an expiry): whom an undeliverable message is told to.
fn decided_by(approval: &Approval) -> &str {
    approval.decided_by.as_deref().unwrap_or("keepable")
}
