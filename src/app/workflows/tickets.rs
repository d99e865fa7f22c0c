//! Scoping tickets (SPEC 5.3): opened by sellers, moved by presales, added to the library.

use serde_json::json;

use super::{button, new_id, App};
use crate::app::action::Action;
use crate::app::error::{AppError, UserError};
use crate::app::reply::{Reply, Target};
use crate::app::text::user;
use crate::app::Actor;
use crate::domain::deal::{slug, unique_slug, Deal};
use crate::domain::firm::{Category, Deliverable};
use crate::domain::library::normalize;
use crate::domain::offer::{OfferKind, OfferTerms};
use crate::domain::ticket::{next_state, Ticket, TicketChange, TicketMove, TicketState};
use crate::store::Tx;

impl App {
    /// `/scope <description>`, or the button on a "not in the library" answer.
    pub(in crate::app) async fn open_ticket(
        &self,
        actor: &Actor,
        description: &str,
        deal: Option<&str>,
        package: Option<String>,
        offer_id: Option<&str>,
    ) -> Result<Reply, AppError> {
        let deal = match deal {
            Some(given) => Some(
                self.store
                    .deal(given)
                    .await?
                    .ok_or_else(|| UserError::UnknownDeal(given.into()))?,
            ),
            None => self.current_deal(actor, None).await.ok(),
        };
        if let Some(answered) = self
            .needs_no_ticket(actor, description, deal.as_ref(), package.as_deref(), offer_id)
            .await?
        {
            return Ok(answered);
        }
        let now = self.clock.now();
        let ticket = Ticket {
            id: new_id("T", 6),
            deal_id: deal.as_ref().map(|d| d.id.clone()),
            package: package.or_else(|| deal.as_ref().map(|d| d.package.clone())),
            requester: actor.user.clone(),
            channel: actor.channel.clone(),
            description: description.trim().to_string(),
            state: TicketState::Open,
            effort_hours: None,
            price: None,
            notes: None,
            reason: None,
            deliverable_id: None,
            handled_by: None,
            message_id: None,
            created_at: now,
            updated_at: now,
            offer_id: offer_id.map(String::from),
        };
        let card = self.ticket_card(&ticket, deal.as_ref().map(|d| d.name.as_str()))?;
        let mut tx = self.store.begin().await?;
        tx.insert_ticket(&ticket).await?;
        let presales = Target::Channel(self.channel(&self.settings.presales_channel));
        let message_id = self
            .send(&mut tx, &actor.user, format!("ticket:{}:card", ticket.id), presales, &card, None)
            .await?;
        tx.set_ticket_message(&ticket.id, message_id).await?;
        self.audit(&mut tx, &actor.user, "ticket.opened", &ticket.id, &ticket.description).await?;
        tx.commit().await?;
        self.ticket_reply(&ticket, deal.as_ref().map(|d| d.name.as_str()))
    }

    /// A request that needs no new ticket: typed for an item the library already has (its
    /// inclusion answer instead), or the same request as an open ticket on the deal (that one).
    async fn needs_no_ticket(
        &self,
        actor: &Actor,
        description: &str,
        deal: Option<&Deal>,
        package: Option<&str>,
        offer_id: Option<&str>,
    ) -> Result<Option<Reply>, AppError> {
        if offer_id.is_none() {
            // Typed, not pressed: an item the library already has needs no scoping.
            let library = self.store.library().await?;
            if let Some(known) = library.find_exact(description) {
                let name = known.name.clone();
                let deal_id = deal.map(|d| d.id.clone());
                let mut reply = self.included(actor, &name, package, deal_id.as_deref()).await?;
                reply.body = format!(
                    "'{}' is already in the library as {name}: no ticket is needed, here is its answer.\n{}",
                    user(description.trim()),
                    reply.body
                );
                return Ok(Some(reply));
            }
        }
        if let Some(deal) = deal {
            // The same request twice on one deal is one ticket.
            let wanted = normalize(description);
            if let Some(open) = self.store.tickets_for_deal(&deal.id).await?.into_iter().find(|t| {
                normalize(&t.description) == wanted
                    && matches!(
                        t.state,
                        TicketState::Open | TicketState::Accepted | TicketState::Scoped
                    )
            }) {
                let mut reply = self.ticket_reply(&open, Some(&deal.name))?;
                reply.headline = format!(
                    "Scoping ticket {} is already {} for this on {}: no second ticket was opened.",
                    open.id,
                    open.state,
                    user(&deal.name)
                );
                return Ok(Some(reply));
            }
        }
        Ok(None)
    }

    pub(super) async fn open_ticket_from_offer(
        &self,
        actor: &Actor,
        offer_id: &str,
    ) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, offer_id, OfferKind::Ticket).await?;
        if let Some(first) = self.store.ticket_for_offer(&offer.id).await? {
            let mut reply = self.ticket_reply(&first, None)?;
            reply.headline = format!(
                "Already opened: ticket {} ({}). Pressing again changes nothing.",
                first.id, first.state
            );
            return Ok(reply.set("already", true));
        }
        let OfferTerms::Ticket(terms) = &offer.terms else {
            return Err(UserError::UnknownAction.into());
        };
        let deal = self.current_deal(actor, Some(&offer)).await.ok().map(|d| d.id);
        self.open_ticket(
            actor,
            &terms.description,
            deal.as_deref(),
            terms.package.clone(),
            Some(&offer.id),
        )
        .await
    }

    fn ticket_reply(&self, ticket: &Ticket, deal_name: Option<&str>) -> Result<Reply, AppError> {
        let mut context = json!(ticket);
        context["deal_name"] = json!(deal_name);
        Ok(self
            .reply("ticket", "ticket", context)?
            .set("ticket_id", &ticket.id)
            .set("state", ticket.state)
            .set("description", &ticket.description)
            .set("effort_hours", ticket.effort_hours)
            .set("price", ticket.price)
            .set("deliverable_id", &ticket.deliverable_id))
    }

    /// The presales card, with the buttons the ticket's state allows.
    fn ticket_card(&self, ticket: &Ticket, deal_name: Option<&str>) -> Result<Reply, AppError> {
        let mut context = json!(ticket);
        context["deal_name"] = json!(deal_name);
        let mut card = self
            .reply("ticket_card", "ticket_card", context)?
            .set("ticket_id", &ticket.id)
            .set("state", ticket.state);
        card.private = false;
        let id = || ticket.id.clone();
        match ticket.state {
            TicketState::Open => {
                card.actions.push(button(Action::AcceptTicket(id()), "Accept").primary());
                card.actions.push(button(Action::DeclineTicket(id()), "Decline").danger());
            }
            TicketState::Accepted => {
                card.actions.push(button(Action::ScopeTicket(id()), "Scope").primary());
                card.actions.push(button(Action::DeclineTicket(id()), "Decline").danger());
            }
            TicketState::Scoped if ticket.deliverable_id.is_none() => {
                card.actions.push(button(Action::AddToLibrary(id()), "Add to library"))
            }
            _ => {}
        }
        Ok(card)
    }

    pub(super) async fn accept_ticket(&self, actor: &Actor, id: &str) -> Result<Reply, AppError> {
        self.move_ticket(actor, id, TicketMove::Accept, TicketChange::default()).await
    }

    pub(super) async fn scope_ticket(
        &self,
        actor: &Actor,
        id: &str,
        change: TicketChange,
    ) -> Result<Reply, AppError> {
        self.move_ticket(actor, id, TicketMove::Scope, TicketChange { reason: None, ..change })
            .await
    }

    pub(super) async fn decline_ticket(
        &self,
        actor: &Actor,
        id: &str,
        reason: String,
    ) -> Result<Reply, AppError> {
        self.move_ticket(
            actor,
            id,
            TicketMove::Decline,
            TicketChange { reason: Some(reason), ..TicketChange::default() },
        )
        .await
    }

    /// Accept, scope or decline: presales only, from the state the move allows.
    async fn move_ticket(
        &self,
        actor: &Actor,
        id: &str,
        step: TicketMove,
        change: TicketChange,
    ) -> Result<Reply, AppError> {
        let ticket = self.store.ticket(id).await?.ok_or(UserError::UnknownAction)?;
        let is_presales = self.presales().contains(&actor.user, &actor.groups);
        let to = match next_state(ticket.state, step, is_presales) {
            Ok(to) => to,
            Err(refusal) => {
                return Err(self.refused(actor, "ticket.refused", id, refusal.to_string()).await)
            }
        };
        let mut tx = self.store.begin().await?;
        if !tx.move_ticket(id, (ticket.state, to), &actor.user, self.clock.now(), &change).await? {
            tx.rollback().await?;
            return Err(UserError::Refused(
                "Someone else moved this ticket first; look at it again.".into(),
            )
            .into());
        }
        let moved = tx.ticket(id).await?;
        self.announce_ticket(&mut tx, &moved).await?;
        let details = audit_details(&change);
        self.audit(&mut tx, &actor.user, &format!("ticket.{to}"), id, &details).await?;
        tx.commit().await?;
        self.ticket_reply(&moved, None)
    }

    async fn announce_ticket(&self, tx: &mut Tx, ticket: &Ticket) -> Result<(), AppError> {
        // Moved by presales: whoever moved it is told if the news cannot be delivered.
        let by = ticket.handled_by.as_deref().unwrap_or(&ticket.requester);
        let deal_name = match &ticket.deal_id {
            Some(id) => tx.deal(id).await?.map(|d| d.name),
            None => None,
        };
        let card = self.ticket_card(ticket, deal_name.as_deref())?;
        let presales = Target::Channel(self.channel(&self.settings.presales_channel));
        let step = if ticket.deliverable_id.is_some() { "library" } else { ticket.state.as_str() };
        self.send(
            tx,
            by,
            format!("ticket:{}:card:{step}", ticket.id),
            presales,
            &card,
            ticket.message_id,
        )
        .await?;
        let notice = self
            .reply("ticket_notice", "ticket_notice", json!(ticket))?
            .set("ticket_id", &ticket.id)
            .set("state", ticket.state);
        let requester = Target::User(ticket.requester.clone());
        let key = format!("ticket:{}:notice:{step}", ticket.id);
        self.send(tx, by, key, requester, &notice, None).await?;
        Ok(())
    }

    /// A scoped ticket becomes a deliverable (customization), so `/included` answers next time.
    pub(super) async fn add_to_library(&self, actor: &Actor, id: &str) -> Result<Reply, AppError> {
        let ticket = self.store.ticket(id).await?.ok_or(UserError::UnknownAction)?;
        if !self.presales().contains(&actor.user, &actor.groups) {
            return Err(self
                .refused(
                    actor,
                    "ticket.refused",
                    id,
                    "Only presales members can work on scoping tickets.",
                )
                .await);
        }
        if ticket.state != TicketState::Scoped || ticket.deliverable_id.is_some() {
            let message = match &ticket.deliverable_id {
                Some(d) => format!("This ticket is already in the library as {d}."),
                None => format!(
                    "This ticket is {}; only a scoped ticket can be added to the library.",
                    ticket.state
                ),
            };
            return Err(UserError::Refused(message).into());
        }
        let library = self.store.library().await?;
        if let Some(existing) = library.find_exact(&ticket.description) {
            return Err(UserError::Refused(format!(
                "'{}' already matches {} in the library.",
                user(&ticket.description),
                existing.id
            ))
            .into());
        }
        let fallback = ticket.id.to_lowercase();
        let deliverable_id =
            unique_slug(&slug(&ticket.description, &fallback), |id| library.get(id).is_some());
        let deliverable = Deliverable {
            id: deliverable_id.clone(),
            name: ticket.description.clone(),
            aliases: Vec::new(),
            category: Category::Customization,
            effort_hours: ticket.effort_hours.unwrap_or(0.0),
            price: ticket.price.unwrap_or(0.0),
            depends_on: Vec::new(),
            description: ticket.notes.clone().unwrap_or_default(),
        };
        let mut tx = self.store.begin().await?;
        if !tx.link_ticket_deliverable(id, &deliverable_id, self.clock.now()).await? {
            tx.rollback().await?;
            return Err(
                UserError::Refused("This ticket was added to the library already.".into()).into()
            );
        }
        tx.insert_deliverable(&deliverable).await?;
        let linked = tx.ticket(id).await?;
        self.announce_ticket(&mut tx, &linked).await?;
        self.audit(&mut tx, &actor.user, "ticket.added_to_library", id, &deliverable_id).await?;
        tx.commit().await?;
        self.ticket_reply(&linked, None)
    }
}

/// A ticket move's audit details: `effort_hours=40 price=4800`, or the reason.
fn audit_details(change: &TicketChange) -> String {
    let mut parts = Vec::new();
    if let Some(effort) = change.effort_hours {
        parts.push(format!("effort_hours={effort}"));
    }
    if let Some(price) = change.price {
        parts.push(format!("price={price}"));
    }
    if let Some(reason) = &change.reason {
        parts.push(format!("reason={reason}"));
    }
    parts.join(" ")
}
