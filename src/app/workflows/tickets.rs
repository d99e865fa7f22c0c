//! Scoping tickets (SPEC 5.3): opened by sellers, moved by presales, added to the library.

use std::collections::HashMap;

use serde_json::json;

use super::{button, new_id, App};
use crate::app::error::{AppError, UserError};
use crate::app::reply::Reply;
use crate::app::Actor;
use crate::domain::firm::{Category, Deliverable};
use crate::domain::library::normalize;
use crate::domain::ticket::{next_state, TicketMove, TicketState};
use crate::store::{Store, Ticket, TicketChange};

impl App {
    /// `/scope <description>`, or the button on a "not in the library" answer.
    pub(in crate::app) async fn open_ticket(
        &self,
        actor: &Actor,
        description: &str,
        deal: Option<&str>,
        package: Option<String>,
    ) -> Result<Reply, AppError> {
        let deal = match deal {
            Some(given) => Some(self.store.deal(given).await?.ok_or_else(|| UserError::UnknownDeal(given.into()))?),
            None => self.current_deal(actor, None).await.ok(),
        };
        let now = self.now_text();
        let ticket = Ticket {
            id: new_id("T", 6),
            deal_id: deal.as_ref().map(|d| d.id.clone()),
            package: package.or_else(|| deal.as_ref().map(|d| d.package.clone())),
            requester: actor.user.clone(),
            channel: actor.channel.clone(),
            description: description.trim().to_string(),
            state: "open".into(),
            effort_hours: None,
            price: None,
            notes: None,
            reason: None,
            deliverable_id: None,
            handled_by: None,
            message_id: None,
            created_at: now.clone(),
            updated_at: now.clone(),
        };
        let card = self.ticket_card(&ticket, deal.as_ref().map(|d| d.name.as_str()))?;
        let mut tx = self.store.pool().begin().await?;
        Store::insert_ticket(&mut tx, &ticket).await?;
        let target = format!("channel:{}", self.settings.presales_channel);
        let message_id = Self::send(&mut tx, format!("ticket:{}:card", ticket.id), target, &card, None, &now).await?;
        Store::set_ticket_message(&mut tx, &ticket.id, message_id).await?;
        Store::audit(&mut tx, &now, &actor.user, "ticket.opened", &ticket.id, &ticket.description).await?;
        tx.commit().await?;
        self.ticket_reply(&ticket, deal.as_ref().map(|d| d.name.as_str()))
    }

    pub(super) async fn open_ticket_from_offer(&self, actor: &Actor, offer_id: &str) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, offer_id, "ticket").await?;
        let description = offer.payload["description"].as_str().unwrap_or_default().to_string();
        let package = offer.payload["package"].as_str().map(String::from);
        let deal = self.current_deal(actor, Some(&offer.channel)).await.ok().map(|d| d.id);
        self.open_ticket(actor, &description, deal.as_deref(), package).await
    }

    fn ticket_reply(&self, ticket: &Ticket, deal_name: Option<&str>) -> Result<Reply, AppError> {
        let mut context = json!(ticket);
        context["deal_name"] = json!(deal_name);
        Ok(self
            .reply("ticket", "ticket", context)?
            .set("ticket_id", &ticket.id)
            .set("state", &ticket.state)
            .set("description", &ticket.description)
            .set("effort_hours", ticket.effort_hours)
            .set("price", ticket.price)
            .set("deliverable_id", &ticket.deliverable_id))
    }

    /// The presales card, with the buttons the ticket's state allows.
    fn ticket_card(&self, ticket: &Ticket, deal_name: Option<&str>) -> Result<Reply, AppError> {
        let mut context = json!(ticket);
        context["deal_name"] = json!(deal_name);
        let mut card = self.reply("ticket_card", "ticket_card", context)?.set("ticket_id", &ticket.id).set("state", &ticket.state);
        card.private = false;
        match ticket.state.as_str() {
            "open" => {
                card.actions.push(button("accept_ticket", &ticket.id, "Accept").primary());
                card.actions.push(button("decline_ticket", &ticket.id, "Decline").danger());
            }
            "accepted" => {
                card.actions.push(button("scope_ticket", &ticket.id, "Scope").primary());
                card.actions.push(button("decline_ticket", &ticket.id, "Decline").danger());
            }
            "scoped" if ticket.deliverable_id.is_none() => card.actions.push(button("add_to_library", &ticket.id, "Add to library")),
            _ => {}
        }
        Ok(card)
    }

    /// Accept, scope (`effort`, `price`, `notes`) or decline (`reason`): presales only.
    pub(super) async fn move_ticket(
        &self,
        actor: &Actor,
        verb: &str,
        id: &str,
        fields: &HashMap<String, String>,
    ) -> Result<Reply, AppError> {
        let ticket = self.store.ticket(id).await?.ok_or(UserError::UnknownAction)?;
        let from = TicketState::parse(&ticket.state).unwrap_or(TicketState::Open);
        let step = match verb {
            "accept_ticket" => TicketMove::Accept,
            "scope_ticket" => TicketMove::Scope,
            _ => TicketMove::Decline,
        };
        let to = match next_state(from, step, self.is_presales(actor)) {
            Ok(to) => to,
            Err(refusal) => return self.refuse(actor, "ticket.refused", id, refusal.to_string()).await,
        };
        let change = ticket_change(step, fields)?;
        let now = self.now_text();
        let mut tx = self.store.pool().begin().await?;
        if !Store::move_ticket(&mut tx, id, from.as_str(), to.as_str(), &actor.user, &now, &change).await? {
            tx.rollback().await?;
            return Err(UserError::Refused("Someone else moved this ticket first; look at it again.".into()).into());
        }
        let moved = Store::ticket_in(&mut tx, id).await?.ok_or(UserError::UnknownAction)?;
        self.announce_ticket(&mut tx, &moved, &now).await?;
        Store::audit(
            &mut tx,
            &now,
            &actor.user,
            &format!("ticket.{}", to.as_str()),
            id,
            &serde_json::to_string(&json!({"effort_hours": change.effort_hours, "price": change.price, "reason": change.reason}))
                .unwrap_or_default(),
        )
        .await?;
        tx.commit().await?;
        self.ticket_reply(&moved, None)
    }

    async fn announce_ticket(&self, tx: &mut sqlx::AnyConnection, ticket: &Ticket, now: &str) -> Result<(), AppError> {
        let deal_name = match &ticket.deal_id {
            Some(id) => self.store.deal(id).await?.map(|d| d.name),
            None => None,
        };
        let card = self.ticket_card(ticket, deal_name.as_deref())?;
        let target = format!("channel:{}", self.settings.presales_channel);
        let step = ticket.deliverable_id.as_deref().map(|_| "library").unwrap_or(&ticket.state);
        Self::send(tx, format!("ticket:{}:card:{step}", ticket.id), target, &card, ticket.message_id, now).await?;
        let notice = self.reply("ticket_notice", "ticket_notice", json!(ticket))?.set("ticket_id", &ticket.id).set("state", &ticket.state);
        Self::send(tx, format!("ticket:{}:notice:{step}", ticket.id), format!("user:{}", ticket.requester), &notice, None, now).await?;
        Ok(())
    }

    /// A scoped ticket becomes a deliverable (customization), so `/included` answers next time.
    pub(super) async fn add_to_library(&self, actor: &Actor, id: &str) -> Result<Reply, AppError> {
        let ticket = self.store.ticket(id).await?.ok_or(UserError::UnknownAction)?;
        if !self.is_presales(actor) {
            return self.refuse(actor, "ticket.refused", id, "Only presales members can work on scoping tickets.".into()).await;
        }
        if ticket.state != "scoped" || ticket.deliverable_id.is_some() {
            let message = match &ticket.deliverable_id {
                Some(d) => format!("This ticket is already in the library as {d}."),
                None => format!("This ticket is {}; only a scoped ticket can be added to the library.", ticket.state),
            };
            return Err(UserError::Refused(message).into());
        }
        let library = self.store.library().await?;
        if let Some(existing) = library.find_exact(&ticket.description) {
            return Err(UserError::Refused(format!("'{}' already matches {} in the library.", ticket.description, existing.id)).into());
        }
        let base = normalize(&ticket.description).replace(' ', "-");
        let mut deliverable_id = if base.is_empty() { ticket.id.to_lowercase() } else { base.clone() };
        let mut n = 2;
        while library.get(&deliverable_id).is_some() {
            deliverable_id = format!("{base}-{n}");
            n += 1;
        }
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
        let now = self.now_text();
        let mut tx = self.store.pool().begin().await?;
        if !Store::link_ticket_deliverable(&mut tx, id, &deliverable_id, &now).await? {
            tx.rollback().await?;
            return Err(UserError::Refused("This ticket was added to the library already.".into()).into());
        }
        Store::insert_deliverable(&mut tx, &deliverable).await?;
        let linked = Store::ticket_in(&mut tx, id).await?.ok_or(UserError::UnknownAction)?;
        self.announce_ticket(&mut tx, &linked, &now).await?;
        Store::audit(&mut tx, &now, &actor.user, "ticket.added_to_library", id, &deliverable_id).await?;
        tx.commit().await?;
        self.ticket_reply(&linked, None)
    }
}

/// Validates a move's fields: scoping needs effort and price, declining a reason.
fn ticket_change(step: TicketMove, fields: &HashMap<String, String>) -> Result<TicketChange, UserError> {
    let number = |key: &'static str| -> Result<f64, UserError> {
        let value = fields.get(key).map(|v| v.trim().trim_start_matches('$').replace(',', "")).unwrap_or_default();
        value.parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0).ok_or(UserError::Refused(format!(
            "{key} must be a number (for example {key}={}), got '{value}'.",
            if key == "price" { "4800" } else { "40" }
        )))
    };
    let text = |key: &str| fields.get(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    Ok(match step {
        TicketMove::Accept => TicketChange::default(),
        TicketMove::Scope => {
            let effort = number("effort")?;
            if effort <= 0.0 {
                return Err(UserError::Refused("effort must be more than 0 hours.".into()));
            }
            TicketChange { effort_hours: Some(effort), price: Some(number("price")?), notes: text("notes"), reason: None }
        }
        TicketMove::Decline => TicketChange {
            reason: Some(text("reason").ok_or(UserError::Refused("Declining needs a reason (reason=…).".into()))?),
            ..TicketChange::default()
        },
    })
}
