//! The workflows of SPEC section 5: deals and commitments, capacity holds, approvals, scoping
//! tickets and handovers. Every state change writes its audit entry and outbound messages in the
//! same transaction.

mod approvals;
mod deals;
mod due;
mod tickets;

use std::collections::HashMap;

use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::Value;
use sqlx::AnyConnection;

use super::error::{AppError, UserError};
use super::reply::{Action, Reply};
use super::{Actor, App};
use crate::store::outbox::NewMessage;
use crate::store::{timestamp, Deal, Offer, Store};

pub use due::DueReport;

/// A short random id with a prefix (`A7K2Q9`), for approvals, tickets, handovers and offers.
fn new_id(prefix: &str, length: usize) -> String {
    let code: String = rand::thread_rng().sample_iter(&Alphanumeric).take(length).map(char::from).collect();
    format!("{prefix}{}", code.to_uppercase())
}

impl App {
    pub(super) fn now_text(&self) -> String {
        timestamp(self.clock.now())
    }

    /// Saves what an answer's buttons would commit; the action id carries only its id.
    pub(super) async fn offer(&self, actor: &Actor, kind: &str, payload: &Value) -> Result<String, AppError> {
        let offer = Offer {
            id: new_id("", 10).to_lowercase(),
            kind: kind.into(),
            actor: actor.user.clone(),
            channel: actor.channel.clone(),
            payload: payload.clone(),
            created_at: self.now_text(),
        };
        self.store.insert_offer(&offer).await?;
        Ok(offer.id)
    }

    /// The offer behind a button, if it exists and belongs to `actor`.
    async fn owned_offer(&self, actor: &Actor, id: &str, kind: &str) -> Result<Offer, AppError> {
        match self.store.offer(id).await? {
            Some(offer) if offer.actor == actor.user && offer.kind == kind => Ok(offer),
            _ => Err(UserError::UnknownAction.into()),
        }
    }

    /// The deal of the channel the actor is in, or of the channel the answer was given in.
    async fn current_deal(&self, actor: &Actor, offer_channel: Option<&str>) -> Result<Deal, AppError> {
        if let Some(deal) = self.store.deal_for_channel(&actor.channel).await? {
            return Ok(deal);
        }
        if let Some(channel) = offer_channel {
            if let Some(deal) = self.store.deal_for_channel(channel).await? {
                return Ok(deal);
            }
        }
        Err(UserError::NoDeal.into())
    }

    pub(super) fn is_approver(&self, actor: &Actor) -> bool {
        in_group(&self.settings.approvers, self.settings.approver_group.as_deref(), actor)
    }

    pub(super) fn is_presales(&self, actor: &Actor) -> bool {
        in_group(&self.settings.presales_members, self.settings.presales_group.as_deref(), actor)
    }

    /// Records a refused attempt and answers with the refusal (nothing else changes).
    async fn refuse(&self, actor: &Actor, action: &str, subject: &str, message: String) -> Result<Reply, AppError> {
        self.store.audit_now(&self.now_text(), &actor.user, action, subject, &message).await?;
        Err(UserError::Refused(message).into())
    }

    /// Queues a message to `target` (`channel:ID` / `user:ID`) inside a transaction.
    async fn send(
        conn: &mut AnyConnection,
        key: String,
        target: String,
        reply: &Reply,
        updates: Option<i64>,
        now: &str,
    ) -> Result<i64, AppError> {
        let json = serde_json::to_value(reply).map_err(anyhow::Error::from)?;
        let message = NewMessage { idempotency_key: key, target, text: reply.to_text(), reply: &json, updates };
        Ok(Store::enqueue(conn, message, now).await?)
    }

    /// Dispatches a button click.
    pub(super) async fn perform(&self, actor: &Actor, action_id: &str, fields: &HashMap<String, String>) -> Result<Reply, AppError> {
        let (verb, subject) = action_id.split_once(':').ok_or(UserError::UnknownAction)?;
        match verb {
            "commit_start" | "commit_deadline" | "add_scope" => self.commit_offer(actor, verb, subject).await,
            "hold" => self.hold(actor, subject).await,
            "request_approval" => self.request_deadline_approval(actor, subject).await,
            "request_early_start" => self.request_early_start(actor, subject, fields).await,
            "approve" => self.decide(actor, subject, None).await,
            "reject" => self.decide(actor, subject, Some(fields.get("reason").cloned().unwrap_or_default())).await,
            "open_ticket" => self.open_ticket_from_offer(actor, subject).await,
            "accept_ticket" | "scope_ticket" | "decline_ticket" => self.move_ticket(actor, verb, subject, fields).await,
            "add_to_library" => self.add_to_library(actor, subject).await,
            "ack_handover" => self.acknowledge_handover(actor, subject).await,
            _ => Err(UserError::UnknownAction.into()),
        }
    }
}

fn in_group(members: &[String], group: Option<&str>, actor: &Actor) -> bool {
    members.iter().any(|m| m == &actor.user) || group.is_some_and(|g| actor.groups.iter().any(|x| x == g))
}

/// A button for a message another person will act on.
fn button(verb: &str, subject: &str, label: &str) -> Action {
    Action::new(format!("{verb}:{subject}"), label)
}
