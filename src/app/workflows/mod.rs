//! The workflows of SPEC section 5: deals and commitments, capacity holds, approvals, scoping
//! tickets and handovers. Every state change writes its audit entry and outbound messages in the
//! same transaction. The rules they apply live in `domain/`; this is the glue.

mod approvals;
mod commitments;
mod deals;
mod digest;
mod due;
mod tickets;

use std::collections::HashMap;

use rand::distributions::Alphanumeric;
use rand::Rng;

use super::action::Action;
use super::error::{AppError, UserError};
use super::forms::{Form, FormInput};
use super::reply::{Button, Reply, Target};
use super::{Actor, App};
use crate::domain::deal::Deal;
use crate::domain::membership::Membership;
use crate::domain::offer::{Offer, OfferKind, OfferTerms};
use crate::store::outbox::NewMessage;
use crate::store::{Audit, Tx};

pub use due::DueReport;

/// A short random id with a prefix (`A7K2Q9`), for approvals, tickets, handovers and offers.
fn new_id(prefix: &str, length: usize) -> String {
    let code: String =
        rand::thread_rng().sample_iter(&Alphanumeric).take(length).map(char::from).collect();
    format!("{prefix}{}", code.to_uppercase())
}

impl App {
    /// Saves what an answer's buttons would commit; the action id carries only its id.
    pub(super) async fn offer(&self, actor: &Actor, terms: OfferTerms) -> Result<String, AppError> {
        self.offer_for_deal(actor, terms, None).await
    }

    /// An offer whose buttons act on `deal` (named with `deal=`) rather than a channel's deal.
    pub(in crate::app) async fn offer_for_deal(
        &self,
        actor: &Actor,
        terms: OfferTerms,
        deal: Option<String>,
    ) -> Result<String, AppError> {
        let offer = Offer {
            id: new_id("", 10).to_lowercase(),
            owner: actor.user.clone(),
            channel: actor.channel.clone(),
            terms,
            created_at: self.clock.now(),
            deal,
        };
        let id = offer.id.clone();
        self.store.insert_offer(offer).await?;
        Ok(id)
    }

    /// The offer behind a button of `kind`, when `actor` may press it now (theirs, fresh);
    /// refusals are audited.
    pub(in crate::app) async fn owned_offer(
        &self,
        actor: &Actor,
        id: &str,
        kind: OfferKind,
    ) -> Result<Offer, AppError> {
        let offer = self.store.offer(id).await?.ok_or(UserError::UnknownAction)?;
        if let Err(refusal) =
            offer.terms_for(&actor.user, kind, self.clock.now(), self.settings.offer_valid_hours)
        {
            return Err(self.refused(actor, "offer.refused", id, refusal.to_string()).await);
        }
        Ok(offer)
    }

    /// The deal an answer named (`deal=`), else the deal of the channel the actor is in, or of
    /// the channel the answer was given in.
    async fn current_deal(&self, actor: &Actor, offer: Option<&Offer>) -> Result<Deal, AppError> {
        if let Some(named) = offer.and_then(|o| o.deal.as_deref()) {
            return Ok(self
                .store
                .deal(named)
                .await?
                .ok_or_else(|| UserError::UnknownDeal(named.into()))?);
        }
        if let Some(deal) = self.store.deal_for_channel(&actor.channel).await? {
            return Ok(deal);
        }
        if let Some(channel) = offer.map(|o| o.channel.as_str()) {
            if let Some(deal) = self.store.deal_for_channel(channel).await? {
                return Ok(deal);
            }
        }
        Err(UserError::NoDeal.into())
    }

    /// Who may decide approvals, from configuration.
    pub(super) fn approvers(&self) -> Membership {
        Membership::new(&self.settings.approvers, self.settings.approver_group.as_deref())
    }

    /// Who, besides a deal's seller, may change any deal, from configuration.
    pub(super) fn sales_leads(&self) -> Membership {
        Membership::new(&self.settings.sales_leads, self.settings.sales_lead_group.as_deref())
    }

    /// Who works on scoping tickets, from configuration.
    pub(super) fn presales(&self) -> Membership {
        Membership::new(&self.settings.presales_members, self.settings.presales_group.as_deref())
    }

    /// Records a refused attempt as `action` (ending in `.refused`) and returns the refusal to
    /// answer with; nothing else changes.
    async fn refused(
        &self,
        actor: &Actor,
        action: &str,
        subject: &str,
        message: impl Into<String>,
    ) -> AppError {
        let message = message.into();
        let details = crate::app::text::plain(&message);
        let entry =
            Audit { at: self.clock.now(), actor: &actor.user, action, subject, details: &details };
        match self.store.audit(entry).await {
            Ok(()) => UserError::Recorded(message).into(),
            Err(error) => error.into(),
        }
    }

    /// Queues `reply` to `target` inside `tx`, caused by `by` (told if it cannot be delivered);
    /// `updates` replaces an earlier message in place.
    async fn send(
        &self,
        tx: &mut Tx,
        by: &str,
        key: String,
        target: Target,
        reply: &Reply,
        updates: Option<i64>,
    ) -> Result<i64, AppError> {
        let caused_by = Some(by.to_string());
        let message = NewMessage { idempotency_key: key, target, reply, updates, caused_by };
        Ok(tx.enqueue(message, self.clock.now()).await?)
    }

    /// Records one audit entry inside `tx`, at the app's time.
    async fn audit(
        &self,
        tx: &mut Tx,
        actor: &str,
        action: &str,
        subject: &str,
        details: &str,
    ) -> Result<(), AppError> {
        Ok(tx.audit(Audit { at: self.clock.now(), actor, action, subject, details }).await?)
    }

    /// Dispatches a button press: the form's fields are checked first, then one `match`.
    pub(super) async fn perform(
        &self,
        actor: &Actor,
        action: Action,
        fields: &HashMap<String, String>,
    ) -> Result<Reply, AppError> {
        let input = match action.form() {
            Some(form) => Some(checked(form, fields)?),
            None if !fields.is_empty() => {
                let keys = fields.keys().cloned().collect::<Vec<_>>().join(", ");
                return Err(UserError::Refused(format!(
                    "This button takes no fields; got {keys}."
                ))
                .into());
            }
            None => None,
        };
        match (action, input) {
            (Action::CommitStart(id), _) => self.commit_start(actor, &id).await,
            (Action::CommitDeadline(id), _) => self.commit_deadline(actor, &id).await,
            (Action::AddScope(id), _) => self.add_scope(actor, &id).await,
            (Action::Hold(id), _) => self.hold(actor, &id).await,
            (Action::RequestApproval(id), _) => self.request_deadline_approval(actor, &id).await,
            (Action::RequestEarlyStart(id), Some(FormInput::StartDate(date))) => {
                self.request_early_start(actor, &id, date).await
            }
            (Action::OpenTicket(id), _) => self.open_ticket_from_offer(actor, &id).await,
            (Action::AnswerFor(id), _) => self.answer_for_suggestion(actor, &id).await,
            (Action::Approve(id), _) => self.decide(actor, &id, None).await,
            (Action::Reject(id), Some(FormInput::Reason(reason))) => {
                self.decide(actor, &id, Some(reason)).await
            }
            (Action::AcceptTicket(id), _) => self.accept_ticket(actor, &id).await,
            (Action::ScopeTicket(id), Some(FormInput::Scoping(change))) => {
                self.scope_ticket(actor, &id, change).await
            }
            (Action::DeclineTicket(id), Some(FormInput::Reason(reason))) => {
                self.decline_ticket(actor, &id, reason).await
            }
            (Action::AddToLibrary(id), _) => self.add_to_library(actor, &id).await,
            (Action::AcknowledgeHandover(id), _) => self.acknowledge_handover(actor, &id).await,
            (Action::AcknowledgeDigest(week), _) => self.acknowledge_digest(actor, &week).await,
            // `checked` gives each form's own input; nothing else reaches here.
            (action, _) => {
                Err(UserError::Refused(format!("{action} needs its form filled in.")).into())
            }
        }
    }
}

/// A form's fields checked and typed, or every problem in one message.
fn checked(form: Form, fields: &HashMap<String, String>) -> Result<FormInput, UserError> {
    form.check(fields).map_err(|errors| {
        UserError::Refused(errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" "))
    })
}

/// A button for a message another person will act on.
fn button(action: Action, label: &str) -> Button {
    Button::new(action, label)
}
