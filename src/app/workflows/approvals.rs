//! Approvals routed to leadership (SPEC 5.2): request, authorise on the server, decide once.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use super::{button, new_id, App};
use crate::app::error::{AppError, UserError};
use crate::app::reply::Reply;
use crate::app::Actor;
use crate::domain::approval::{check_decision, ApprovalDecision, ApprovalFacts, ApprovalState};
use crate::store::{timestamp, Approval, Store};

impl App {
    /// "Request approval" on a comparables answer whose deadline the rule does not support.
    pub(super) async fn request_deadline_approval(&self, actor: &Actor, offer_id: &str) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, offer_id, "deadline").await?;
        let p = &offer.payload;
        let deadline = p["deadline"].as_str().unwrap_or_default().to_string();
        let evidence = json!({
            "n": p["n"], "p10_days": p["p10_days"], "p50_days": p["p50_days"], "p90_days": p["p90_days"],
            "requested_days": p["requested_days"], "share_within": p["share_within"], "effort": p["effort"],
            "start": p["start"],
        });
        let start = p["start"].as_str().map(String::from);
        self.request_approval(actor, &offer.channel, "deadline", p["package"].as_str().unwrap_or_default(), deadline, start, evidence).await
    }

    /// "Ask for an earlier start": a start before the computed earliest start, with `date=`.
    pub(super) async fn request_early_start(
        &self,
        actor: &Actor,
        offer_id: &str,
        fields: &HashMap<String, String>,
    ) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, offer_id, "start").await?;
        let p = &offer.payload;
        let earliest: NaiveDate = p["start"].as_str().and_then(|s| s.parse().ok()).ok_or(UserError::UnknownAction)?;
        let given = fields.get("date").cloned().unwrap_or_default();
        let date = crate::app::command::parse_date("date", &given, "earliest-start")?;
        if date >= earliest {
            return Err(
                UserError::Refused(format!("{date} is not earlier than the earliest start {earliest}: commit the start instead.")).into()
            );
        }
        if date <= self.clock.today() {
            return Err(UserError::Refused(format!("{date} is not in the future.")).into());
        }
        let package = p["package"].as_str().ok_or(UserError::Refused("An earlier start can be requested for a package only.".into()))?;
        let evidence =
            json!({"earliest_start": earliest, "ignoring_tentative": p["ignoring_tentative"], "roles": p["roles"], "weeks": p["weeks"]});
        self.request_approval(actor, &offer.channel, "early_start", package, date.to_string(), Some(earliest.to_string()), evidence).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn request_approval(
        &self,
        actor: &Actor,
        offer_channel: &str,
        kind: &str,
        package: &str,
        requested_date: String,
        start_date: Option<String>,
        evidence: Value,
    ) -> Result<Reply, AppError> {
        let deal = self.current_deal(actor, Some(offer_channel)).await.ok();
        let now = self.clock.now();
        let s = &self.settings;
        let approval = Approval {
            id: new_id("A", 6),
            kind: kind.into(),
            deal_id: deal.as_ref().map(|d| d.id.clone()),
            package: package.into(),
            requester: actor.user.clone(),
            channel: actor.channel.clone(),
            requested_date,
            start_date,
            evidence,
            state: "pending".into(),
            decided_by: None,
            decided_at: None,
            reason: None,
            message_id: None,
            created_at: timestamp(now),
            remind_at: Some(timestamp(now + Duration::hours(s.approval_reminder_hours))),
            escalate_at: Some(timestamp(now + Duration::hours(s.approval_escalation_hours))),
            expires_at: timestamp(now + Duration::hours(s.approval_expiry_hours)),
        };
        let card = self.approval_card(&approval, deal.as_ref().map(|d| d.name.as_str()))?;
        let nowt = timestamp(now);
        let mut tx = self.store.pool().begin().await?;
        Store::insert_approval(&mut tx, &approval).await?;
        let target = format!("channel:{}", s.leadership_channel);
        let message_id = Self::send(&mut tx, format!("approval:{}:card", approval.id), target, &card, None, &nowt).await?;
        Store::set_approval_message(&mut tx, &approval.id, message_id).await?;
        Store::audit(&mut tx, &nowt, &actor.user, "approval.requested", &approval.id, &format!("{kind} {}", approval.requested_date))
            .await?;
        tx.commit().await?;
        let context = json!({"id": approval.id, "what": what(&approval)});
        Ok(self
            .reply("approval_requested", "approval_request", context)?
            .set("approval_id", &approval.id)
            .set("approval_kind", kind)
            .set("state", "pending")
            .set("requested_date", &approval.requested_date)
            .set("deal_id", &approval.deal_id))
    }

    /// The leadership card, with Approve / Reject while pending.
    fn approval_card(&self, approval: &Approval, deal_name: Option<&str>) -> Result<Reply, AppError> {
        let kind_label = if approval.kind == "deadline" { "Deadline" } else { "Early start" };
        let context = json!({
            "id": approval.id, "kind_label": kind_label, "what": what(approval), "requester": approval.requester,
            "deal_name": deal_name, "evidence": approval.evidence, "state": approval.state,
            "decided_by": approval.decided_by, "decided_at": approval.decided_at, "reason": approval.reason,
        });
        let mut card =
            self.reply("approval_card", "approval_card", context)?.set("approval_id", &approval.id).set("state", &approval.state);
        card.private = false;
        if approval.state == "pending" {
            card.actions.push(button("approve", &approval.id, "Approve").primary());
            card.actions.push(button("reject", &approval.id, "Reject").danger());
        }
        Ok(card)
    }

    /// Approve (reason `None`) or reject; authorised on the server, decided at most once.
    pub(super) async fn decide(&self, actor: &Actor, id: &str, reason: Option<String>) -> Result<Reply, AppError> {
        let approval = self.store.approval(id).await?.ok_or(UserError::UnknownAction)?;
        let decision = match reason {
            None => ApprovalDecision::Approve,
            Some(reason) => ApprovalDecision::Reject { reason: reason.trim().to_string() },
        };
        let facts = facts_of(&approval);
        if let Err(refusal) = check_decision(&facts, &actor.user, self.is_approver(actor), &decision) {
            return self.refuse(actor, "approval.refused", id, refusal.to_string()).await;
        }
        let state = decision.resulting_state();
        let reason = match &decision {
            ApprovalDecision::Reject { reason } => Some(reason.clone()),
            ApprovalDecision::Approve => None,
        };
        let now = self.now_text();
        let mut tx = self.store.pool().begin().await?;
        // The conditional update comes first: the first valid click wins, in any process.
        if !Store::decide_approval(&mut tx, id, state.as_str(), &actor.user, &now, reason.as_deref()).await? {
            tx.rollback().await?;
            let current = self.store.approval(id).await?.ok_or(UserError::UnknownAction)?;
            let refusal = check_decision(&facts_of(&current), &actor.user, true, &decision).err();
            let message = refusal.map(|r| r.to_string()).unwrap_or_else(|| "This request was decided by someone else.".into());
            return self.refuse(actor, "approval.refused", id, message).await;
        }
        let decided = Store::approval_in(&mut tx, id).await?.ok_or(UserError::UnknownAction)?;
        self.announce_decision(&mut tx, &decided, &now).await?;
        Store::audit(&mut tx, &now, &actor.user, &format!("approval.{}", state.as_str()), id, reason.as_deref().unwrap_or("")).await?;
        tx.commit().await?;
        let context = json!({"id": id, "what": what(&decided), "state": decided.state, "decided_by": decided.decided_by, "decided_at": decided.decided_at, "reason": decided.reason});
        Ok(self
            .reply("approval_decided", "approval_decided", context)?
            .set("approval_id", id)
            .set("state", &decided.state)
            .set("decided_by", &decided.decided_by)
            .set("decided_at", &decided.decided_at)
            .set("reason", &decided.reason))
    }

    /// After a decision or expiry: the card updated in place, the seller told, the deal updated.
    pub(super) async fn announce_decision(&self, tx: &mut sqlx::AnyConnection, approval: &Approval, now: &str) -> Result<(), AppError> {
        let deal = match &approval.deal_id {
            Some(id) => self.store.deal(id).await?,
            None => None,
        };
        let card = self.approval_card(approval, deal.as_ref().map(|d| d.name.as_str()))?;
        let target = format!("channel:{}", self.settings.leadership_channel);
        Self::send(tx, format!("approval:{}:card:{}", approval.id, approval.state), target, &card, approval.message_id, now).await?;
        let context = json!({"id": approval.id, "what": what(approval), "state": approval.state, "decided_by": approval.decided_by, "reason": approval.reason});
        let notice =
            self.reply("approval_notice", "approval_notice", context)?.set("approval_id", &approval.id).set("state", &approval.state);
        Self::send(tx, format!("approval:{}:notice", approval.id), format!("user:{}", approval.requester), &notice, None, now).await?;
        if let (Some(deal), "approved") = (&deal, approval.state.as_str()) {
            let kind = if approval.kind == "deadline" { "deadline" } else { "start" };
            let summary = format!("{} (approved exception by <@{}>)", what(approval), approval.decided_by.clone().unwrap_or_default());
            let commitment = crate::store::Commitment {
                id: 0,
                deal_id: deal.id.clone(),
                kind: kind.into(),
                summary,
                details: approval.evidence.clone(),
                source: format!("approval {}", approval.id),
                approval_id: Some(approval.id.clone()),
                created_by: approval.requester.clone(),
                created_at: now.into(),
            };
            Store::insert_commitment(tx, &commitment).await?;
        }
        Ok(())
    }
}

/// "a deadline of 2027-06-29 for crm-rollout"
fn what(approval: &Approval) -> String {
    match approval.kind.as_str() {
        "deadline" => format!("a deadline of {} for {}", approval.requested_date, approval.package),
        _ => format!(
            "a start on {} for {} (earliest from capacity: {})",
            approval.requested_date,
            approval.package,
            approval.start_date.clone().unwrap_or_default()
        ),
    }
}

fn facts_of(approval: &Approval) -> ApprovalFacts {
    ApprovalFacts {
        state: ApprovalState::parse(&approval.state).unwrap_or(ApprovalState::Pending),
        requester: approval.requester.clone(),
        decided_by: approval.decided_by.clone(),
        decided_at: approval.decided_at.clone(),
    }
}
