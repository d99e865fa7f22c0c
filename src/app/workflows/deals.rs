//! Deals, commitments, capacity holds and the handover (SPEC 5.1, 5.4).

use chrono::{Duration, NaiveDate};
use serde_json::json;

use super::{button, new_id, App};
use crate::app::action::Action;
use crate::app::command::{DealCommand, StartTarget};
use crate::app::error::{AppError, UserError};
use crate::app::reply::{Reply, Target};
use crate::app::{resolve_package, Actor};
use crate::domain::calendar::Calendar;
use crate::domain::capacity::{qualifying_people, Pattern, Requirement};
use crate::domain::deal::{nth_candidate, slug, Commitment, CommitmentDetails, CommitmentKind, Deal, DealStatus};
use crate::domain::handover::{Handover, HandoverState};
use crate::domain::hold::{Hold, HoldState};
use crate::domain::offer::{pattern_summary, OfferKind, OfferTerms, StartOffer};
use crate::store::Capacity;

/// How many ids a new deal tries (`acme`, `acme-2`, …) when others take them at the same moment.
const DEAL_ID_ATTEMPTS: usize = 50;

impl App {
    pub(in crate::app) async fn deal(&self, actor: &Actor, command: DealCommand) -> Result<Reply, AppError> {
        match command {
            DealCommand::New { name, package, client } => self.new_deal(actor, &name, &package, client).await,
            DealCommand::Show { deal } => {
                let deal = self.find_deal(actor, deal.as_deref()).await?;
                self.deal_reply(&deal, "show").await
            }
            DealCommand::Won { deal, pm } => self.win_deal(actor, deal.as_deref(), &pm).await,
            DealCommand::Lost { deal } => self.lose_deal(actor, deal.as_deref()).await,
        }
    }

    async fn find_deal(&self, actor: &Actor, given: Option<&str>) -> Result<Deal, AppError> {
        match given {
            Some(given) => Ok(self.store.deal(given).await?.ok_or_else(|| UserError::UnknownDeal(given.into()))?),
            None => self.current_deal(actor, None).await,
        }
    }

    /// Creates a deal under the first free id its name gives; two sellers naming "Acme" at the
    /// same moment get `acme` and `acme-2`.
    async fn new_deal(&self, actor: &Actor, name: &str, package: &str, client: Option<String>) -> Result<Reply, AppError> {
        let packages = self.store.packages().await?;
        let package = resolve_package(&packages, package)?;
        let base = slug(name, "deal");
        let mut n = 1;
        while self.store.deal_id_taken(&nth_candidate(&base, n)).await? {
            n += 1;
        }
        for candidate in n..n + DEAL_ID_ATTEMPTS {
            let deal = Deal {
                id: nth_candidate(&base, candidate),
                name: name.into(),
                client: client.clone().unwrap_or_default(),
                package: package.id.clone(),
                seller: actor.user.clone(),
                channel: actor.channel.clone(),
                status: DealStatus::Open,
                pm: None,
                created_at: self.clock.now(),
                closed_at: None,
            };
            let mut tx = self.store.begin().await?;
            match tx.insert_deal(&deal).await {
                Err(conflict) if conflict.is_conflict_on("deals") => continue,
                other => other?,
            }
            tx.bind_channel(&actor.channel, &deal.id).await?;
            self.audit(&mut tx, &actor.user, "deal.created", &deal.id, &format!("package {}", deal.package)).await?;
            tx.commit().await?;
            return self.deal_reply(&deal, "created").await;
        }
        Err(UserError::Conflict.into())
    }

    async fn deal_reply(&self, deal: &Deal, event: &str) -> Result<Reply, AppError> {
        let commitments = self.store.commitments(&deal.id).await?;
        let tickets = self.store.tickets_for_deal(&deal.id).await?;
        let context = json!({"deal": deal, "event": event, "commitments": commitments, "tickets": tickets});
        Ok(self
            .reply("deal", "deal", context)?
            .set("deal", deal)
            .set("deal_id", &deal.id)
            .set("status", deal.status)
            .set("commitments", &commitments)
            .set("tickets", &tickets))
    }

    /// "Commit this start" on an earliest-start answer.
    pub(super) async fn commit_start(&self, actor: &Actor, offer_id: &str) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, offer_id, OfferKind::Start).await?;
        let OfferTerms::Start(start) = &offer.terms else { return Err(UserError::UnknownAction.into()) };
        let deal = self.current_deal(actor, Some(&offer.channel)).await?;
        let summary = format!("start {} ({} weeks, {})", start.start, start.weeks, pattern_summary(&start.roles));
        let source = format!("earliest-start engine, capacity as of {}", start.computed_at);
        self.record_commitment(actor, &deal, CommitmentKind::Start, summary, source, CommitmentDetails::Offer(offer.terms.clone())).await
    }

    /// "Commit this deadline" on a comparables answer the deadline rule supports.
    pub(super) async fn commit_deadline(&self, actor: &Actor, offer_id: &str) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, offer_id, OfferKind::Deadline).await?;
        let OfferTerms::Deadline(deadline) = &offer.terms else { return Err(UserError::UnknownAction.into()) };
        let deal = self.current_deal(actor, Some(&offer.channel)).await?;
        if deadline.approval_required {
            return Err(UserError::Refused("This deadline needs leadership approval first: use Request approval.".into()).into());
        }
        let from = deadline.start.map(|d| d.to_string()).unwrap_or_else(|| "none".into());
        let summary = format!("deadline {} from a start of {from}", deadline.deadline);
        let within = deadline.share_within * 100.0;
        let source = format!("comparables: {} projects, {within:.0}% finished within", deadline.n);
        let details = CommitmentDetails::Offer(offer.terms.clone());
        self.record_commitment(actor, &deal, CommitmentKind::Deadline, summary, source, details).await
    }

    /// "Add to deal scope" on an inclusion answer.
    pub(super) async fn add_scope(&self, actor: &Actor, offer_id: &str) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, offer_id, OfferKind::Scope).await?;
        let OfferTerms::Scope(scope) = &offer.terms else { return Err(UserError::UnknownAction.into()) };
        let deal = self.current_deal(actor, Some(&offer.channel)).await?;
        let summary = format!("{} ({})", scope.name, scope.verdict.as_str().replace('_', "-"));
        let details = CommitmentDetails::Offer(offer.terms.clone());
        self.record_commitment(actor, &deal, CommitmentKind::Scope, summary, "deliverable library".into(), details).await
    }

    async fn record_commitment(
        &self,
        actor: &Actor,
        deal: &Deal,
        kind: CommitmentKind,
        summary: String,
        source: String,
        details: CommitmentDetails,
    ) -> Result<Reply, AppError> {
        let commitment = Commitment {
            id: 0,
            deal_id: deal.id.clone(),
            kind,
            summary,
            details,
            source,
            // Approved exceptions are recorded by the approval itself, with its id.
            approval_id: None,
            created_by: actor.user.clone(),
            created_at: self.clock.now(),
        };
        let mut tx = self.store.begin().await?;
        tx.insert_commitment(&commitment).await?;
        self.audit(&mut tx, &actor.user, "commitment.recorded", &deal.id, &commitment.summary).await?;
        tx.commit().await?;
        let context = json!({"deal_name": deal.name, "summary": commitment.summary, "source": commitment.source});
        Ok(self
            .reply("commitment", "commitment", context)?
            .set("deal_id", &deal.id)
            .set("commitment", kind)
            .set("summary", &commitment.summary)
            .set("source", &commitment.source))
    }

    /// "Hold this capacity": tentative bookings for qualifying people, chosen by the system.
    pub(super) async fn hold(&self, actor: &Actor, offer_id: &str) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, offer_id, OfferKind::Start).await?;
        let OfferTerms::Start(start) = &offer.terms else { return Err(UserError::UnknownAction.into()) };
        let deal = self.current_deal(actor, Some(&offer.channel)).await?;
        let pattern = held_pattern(start);
        let end = start.start + Duration::weeks(start.weeks) - Duration::days(1);
        // Another hold may land between reading capacity and booking it: book only on the
        // version that was read, and read again when it moved.
        let mut attempts = 0;
        let (mut tx, bookings) = loop {
            let capacity = self.store.capacity().await?;
            let bookings = hold_bookings(&pattern, &capacity, start.start)?;
            let mut tx = self.store.begin().await?;
            if tx.lock_capacity().await? == capacity.version {
                break (tx, bookings);
            }
            attempts += 1;
            if attempts == 5 {
                return Err(UserError::Refused("Capacity is changing right now; press Hold again in a moment.".into()).into());
            }
        };
        let now = self.clock.now();
        let hold = Hold {
            id: new_id("HLD", 6),
            deal_id: deal.id.clone(),
            start_date: start.start,
            end_date: end,
            state: HoldState::Active,
            created_by: actor.user.clone(),
            created_at: now,
            expires_at: now + Duration::days(self.settings.hold_days),
        };
        let summary = pattern_summary(&start.roles);
        tx.insert_hold(&hold, &bookings).await?;
        let details = format!("deal {} {summary} from {}", deal.id, start.start);
        self.audit(&mut tx, &actor.user, "hold.created", &hold.id, &details).await?;
        tx.commit().await?;
        let context =
            json!({"deal_name": deal.name, "summary": summary, "start": start.start, "end": end, "expires": hold.expires_at.date_naive()});
        Ok(self
            .reply("hold", "hold", context)?
            .set("hold_id", &hold.id)
            .set("deal_id", &deal.id)
            .set("start", start.start)
            .set("end", end)
            .set("expires_at", hold.expires_at)
            .set("people_held", bookings.len()))
    }

    async fn win_deal(&self, actor: &Actor, given: Option<&str>, pm: &str) -> Result<Reply, AppError> {
        let deal = self.find_deal(actor, given).await?;
        if pm.is_empty() {
            return Err(UserError::Missing { what: "pm=<user>", syntax: crate::app::command::syntax_of("deal") }.into());
        }
        deal.close(DealStatus::Won).map_err(UserError::from)?;
        let now = self.clock.now();
        let handover = Handover {
            id: new_id("H", 6),
            deal_id: deal.id.clone(),
            pm: pm.into(),
            state: HandoverState::Sent,
            message_id: None,
            created_at: now,
            remind_at: Some(now + Duration::hours(self.settings.handover_reminder_hours)),
            acknowledged_at: None,
        };
        let message = self.handover_reply(&deal, &handover).await?;
        let mut tx = self.store.begin().await?;
        if !tx.close_deal(&deal.id, DealStatus::Won, Some(pm), now).await? {
            tx.rollback().await?;
            return Err(UserError::Refused(format!("Deal {} is no longer open.", deal.name)).into());
        }
        tx.confirm_holds(&deal.id).await?;
        tx.insert_handover(&handover).await?;
        let key = format!("handover:{}:dm", handover.id);
        let message_id = self.send(&mut tx, key, Target::User(pm.into()), &message, None).await?;
        tx.set_handover_message(&handover.id, message_id).await?;
        self.audit(&mut tx, &actor.user, "deal.won", &deal.id, &format!("handover {} to {pm}", handover.id)).await?;
        let deal = tx.deal(&deal.id).await?.unwrap_or(deal);
        tx.commit().await?;
        Ok(self.deal_reply(&deal, "won").await?.set("handover_id", &handover.id))
    }

    async fn lose_deal(&self, actor: &Actor, given: Option<&str>) -> Result<Reply, AppError> {
        let deal = self.find_deal(actor, given).await?;
        deal.close(DealStatus::Lost).map_err(UserError::from)?;
        let mut tx = self.store.begin().await?;
        if !tx.close_deal(&deal.id, DealStatus::Lost, None, self.clock.now()).await? {
            tx.rollback().await?;
            return Err(UserError::Refused(format!("Deal {} is no longer open.", deal.name)).into());
        }
        tx.release_deal_holds(&deal.id).await?;
        self.audit(&mut tx, &actor.user, "deal.lost", &deal.id, "").await?;
        let deal = tx.deal(&deal.id).await?.unwrap_or(deal);
        tx.commit().await?;
        self.deal_reply(&deal, "lost").await
    }

    /// The PM's handover message: everything committed on the deal.
    async fn handover_reply(&self, deal: &Deal, handover: &Handover) -> Result<Reply, AppError> {
        let packages = self.store.packages().await?;
        let package = packages.iter().find(|p| p.id == deal.package);
        let answer = self.compute_start(&StartTarget::Package(deal.package.clone()), None).await.ok();
        let roles = self.store.roles().await?;
        let pattern: Vec<serde_json::Value> = answer
            .as_ref()
            .map(|a| {
                a.pattern
                    .requirements
                    .iter()
                    .map(|r| {
                        let name = roles.iter().find(|x| x.id == r.role).map(|x| x.name.clone()).unwrap_or_else(|| r.role.clone());
                        json!({"role": r.role, "role_name": name, "count": r.count, "hours_per_week": r.hours_per_week.as_f64()})
                    })
                    .collect()
            })
            .unwrap_or_default();
        let commitments = self.store.commitments(&deal.id).await?;
        let tickets = self.store.tickets_for_deal(&deal.id).await?;
        let context = json!({
            "deal": deal, "package_name": package.map(|p| p.name.clone()).unwrap_or_else(|| deal.package.clone()),
            "weeks": package.map(|p| p.duration_weeks), "roles": pattern, "commitments": commitments,
            "tickets": tickets, "acknowledged_at": handover.acknowledged_at,
        });
        let mut reply = self
            .reply("handover", "handover", context)?
            .set("handover_id", &handover.id)
            .set("deal_id", &deal.id)
            .set("pm", &handover.pm)
            .set("state", handover.state)
            .set("commitments", &commitments);
        reply.private = false;
        if handover.state == HandoverState::Sent {
            reply.actions.push(button(Action::AcknowledgeHandover(handover.id.clone()), "Acknowledge").primary());
        }
        Ok(reply)
    }

    /// The PM (and only the PM) acknowledges a handover, once.
    pub(super) async fn acknowledge_handover(&self, actor: &Actor, id: &str) -> Result<Reply, AppError> {
        let handover = self.store.handover(id).await?.ok_or(UserError::UnknownAction)?;
        if let Err(refusal) = handover.check_acknowledge(&actor.user) {
            return self.refuse(actor, "handover.ack_refused", id, refusal.to_string()).await;
        }
        let deal = self.store.deal(&handover.deal_id).await?.ok_or(UserError::UnknownAction)?;
        let now = self.clock.now();
        let acknowledged = Handover { state: HandoverState::Acknowledged, acknowledged_at: Some(now), ..handover.clone() };
        let updated = self.handover_reply(&deal, &acknowledged).await?;
        let mut tx = self.store.begin().await?;
        if !tx.acknowledge_handover(id, now).await? {
            tx.rollback().await?;
            let current = self.store.handover(id).await?.ok_or(UserError::UnknownAction)?;
            let message = current.check_acknowledge(&actor.user).err().map(|r| r.to_string());
            return Err(UserError::Refused(message.unwrap_or_else(|| "This handover was already acknowledged.".into())).into());
        }
        let pm = Target::User(handover.pm.clone());
        self.send(&mut tx, format!("handover:{id}:acked"), pm, &updated, handover.message_id).await?;
        let mut notice = Reply::new("notice");
        notice.headline = format!("<@{}> acknowledged the handover of {}.", handover.pm, deal.name);
        self.send(&mut tx, format!("handover:{id}:notice"), Target::User(deal.seller.clone()), &notice, None).await?;
        self.audit(&mut tx, &actor.user, "handover.acknowledged", id, &deal.id).await?;
        tx.commit().await?;
        Ok(updated)
    }
}

/// The staffing pattern an earliest-start offer committed to.
fn held_pattern(start: &StartOffer) -> Pattern {
    let requirements =
        start.roles.iter().map(|r| Requirement { role: r.role.clone(), count: r.count, hours_per_week: r.hours() }).collect();
    Pattern { requirements, weeks: start.weeks }
}

/// Who to book for a hold of `pattern` from `start`: qualifying people, chosen by the system.
fn hold_bookings(pattern: &Pattern, capacity: &Capacity, start: NaiveDate) -> Result<Vec<(String, f64)>, AppError> {
    let chosen = qualifying_people(pattern, &capacity.people, &Calendar::new(capacity.holidays.iter().copied()), start);
    let mut bookings = Vec::new();
    for (requirement, candidates) in pattern.requirements.iter().zip(&chosen) {
        if (candidates.len() as i64) < requirement.count {
            return Err(UserError::Refused(format!(
                "Capacity changed since this answer: {} is no longer free from {start}. Ask /earliest-start again.",
                requirement.role
            ))
            .into());
        }
        for person in candidates.iter().take(requirement.count as usize) {
            bookings.push((person.id.clone(), requirement.hours_per_week.as_f64()));
        }
    }
    Ok(bookings)
}
