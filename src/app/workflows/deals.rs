//! Deals, commitments, capacity holds and the handover (SPEC 5.1, 5.4).

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use super::{button, new_id, App};
use crate::app::command::{DealCommand, StartTarget};
use crate::app::error::{AppError, UserError};
use crate::app::reply::Reply;
use crate::app::{resolve_package, Actor};
use crate::domain::calendar::Calendar;
use crate::domain::capacity::{qualifying_people, Pattern, Requirement};
use crate::domain::hours::Hours;
use crate::domain::library::normalize;
use crate::store::{timestamp, Capacity, Commitment, Deal, Handover, Hold, Store};

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

    async fn new_deal(&self, actor: &Actor, name: &str, package: &str, client: Option<String>) -> Result<Reply, AppError> {
        let packages = self.store.packages().await?;
        let package = resolve_package(&packages, package)?;
        let base = normalize(name).replace(' ', "-");
        let base = if base.is_empty() { "deal".to_string() } else { base };
        let mut id = base.clone();
        let mut n = 2;
        while self.store.deal_id_taken(&id).await? {
            id = format!("{base}-{n}");
            n += 1;
        }
        let now = self.now_text();
        let deal = Deal {
            id,
            name: name.into(),
            client: client.unwrap_or_default(),
            package: package.id.clone(),
            seller: actor.user.clone(),
            channel: actor.channel.clone(),
            status: "open".into(),
            pm: None,
            created_at: now.clone(),
            closed_at: None,
        };
        let mut tx = self.store.pool().begin().await?;
        Store::insert_deal(&mut tx, &deal).await?;
        Store::bind_channel(&mut tx, &actor.channel, &deal.id).await?;
        Store::audit(&mut tx, &now, &actor.user, "deal.created", &deal.id, &format!("package {}", deal.package)).await?;
        tx.commit().await?;
        self.deal_reply(&deal, "created").await
    }

    async fn deal_reply(&self, deal: &Deal, event: &str) -> Result<Reply, AppError> {
        let commitments = self.store.commitments(&deal.id).await?;
        let tickets = self.store.tickets_for_deal(&deal.id).await?;
        let context = json!({"deal": deal, "event": event, "commitments": commitments, "tickets": tickets});
        Ok(self
            .reply("deal", "deal", context)?
            .set("deal", deal)
            .set("deal_id", &deal.id)
            .set("status", &deal.status)
            .set("commitments", &commitments)
            .set("tickets", &tickets))
    }

    /// "Commit this start", "Commit this deadline", "Add to deal scope".
    pub(super) async fn commit_offer(&self, actor: &Actor, verb: &str, offer_id: &str) -> Result<Reply, AppError> {
        let kind = match verb {
            "commit_start" => "start",
            "commit_deadline" => "deadline",
            _ => "scope",
        };
        let offer = self.owned_offer(actor, offer_id, kind).await?;
        let deal = self.current_deal(actor, Some(&offer.channel)).await?;
        let p = &offer.payload;
        if kind == "deadline" && p["approval_required"].as_bool().unwrap_or(true) {
            return Err(UserError::Refused("This deadline needs leadership approval first: use Request approval.".into()).into());
        }
        let (summary, source) = match kind {
            "start" => (
                format!("start {} ({} weeks, {})", text(&p["start"]), p["weeks"], pattern_summary(&p["roles"])),
                format!("earliest-start engine, capacity as of {}", text(&p["computed_at"])),
            ),
            "deadline" => (
                format!("deadline {} from a start of {}", text(&p["deadline"]), text(&p["start"])),
                format!("comparables: {} projects, {:.0}% finished within", p["n"], p["share_within"].as_f64().unwrap_or(0.0) * 100.0),
            ),
            _ => (format!("{} ({})", text(&p["name"]), text(&p["verdict"]).replace('_', "-")), "deliverable library".to_string()),
        };
        self.record_commitment(actor, &deal, kind, &summary, &source, p.clone()).await
    }

    async fn record_commitment(
        &self,
        actor: &Actor,
        deal: &Deal,
        kind: &str,
        summary: &str,
        source: &str,
        details: Value,
    ) -> Result<Reply, AppError> {
        let now = self.now_text();
        let commitment = Commitment {
            id: 0,
            deal_id: deal.id.clone(),
            kind: kind.into(),
            summary: summary.into(),
            details,
            source: source.into(),
            // Approved exceptions are recorded by the approval itself, with its id.
            approval_id: None,
            created_by: actor.user.clone(),
            created_at: now.clone(),
        };
        let mut tx = self.store.pool().begin().await?;
        Store::insert_commitment(&mut tx, &commitment).await?;
        Store::audit(&mut tx, &now, &actor.user, "commitment.recorded", &deal.id, summary).await?;
        tx.commit().await?;
        let context = json!({"deal_name": deal.name, "summary": summary, "source": source});
        Ok(self
            .reply("commitment", "commitment", context)?
            .set("deal_id", &deal.id)
            .set("commitment", kind)
            .set("summary", summary)
            .set("source", source))
    }

    /// "Hold this capacity": tentative bookings for qualifying people, chosen by the system.
    pub(super) async fn hold(&self, actor: &Actor, offer_id: &str) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, offer_id, "start").await?;
        let deal = self.current_deal(actor, Some(&offer.channel)).await?;
        let p = &offer.payload;
        let start: NaiveDate = text(&p["start"]).parse().map_err(|_| UserError::UnknownAction)?;
        let weeks = p["weeks"].as_i64().unwrap_or(1);
        let requirements: Vec<Requirement> = p["roles"]
            .as_array()
            .map(|roles| {
                roles
                    .iter()
                    .map(|r| Requirement {
                        role: text(&r["role"]),
                        count: r["count"].as_i64().unwrap_or(1),
                        hours_per_week: Hours::from_f64(r["hours_per_week"].as_f64().unwrap_or(0.0)),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let pattern = Pattern { requirements, weeks };
        let end = start + Duration::weeks(weeks) - Duration::days(1);
        // Another hold may land between reading capacity and booking it: book only on the
        // version that was read, and read again when it moved.
        let mut attempts = 0;
        let (mut tx, bookings) = loop {
            let capacity = self.store.capacity().await?;
            let bookings = self.hold_bookings(&pattern, &capacity, start)?;
            let mut tx = self.store.pool().begin().await?;
            if Store::lock_capacity(&mut tx).await? == capacity.version {
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
            start_date: start.to_string(),
            end_date: end.to_string(),
            state: "active".into(),
            created_by: actor.user.clone(),
            created_at: timestamp(now),
            expires_at: timestamp(now + Duration::days(self.settings.hold_days)),
        };
        let summary = pattern_summary(&p["roles"]);
        Store::insert_hold(&mut tx, &hold, &bookings).await?;
        Store::audit(&mut tx, &hold.created_at, &actor.user, "hold.created", &hold.id, &format!("deal {} {summary} from {start}", deal.id))
            .await?;
        tx.commit().await?;
        let context = json!({"deal_name": deal.name, "summary": summary, "start": start, "end": end, "expires": (now + Duration::days(self.settings.hold_days)).date_naive()});
        Ok(self
            .reply("hold", "hold", context)?
            .set("hold_id", &hold.id)
            .set("deal_id", &deal.id)
            .set("start", start)
            .set("end", end)
            .set("expires_at", &hold.expires_at)
            .set("people_held", bookings.len()))
    }

    /// Who to book for a hold of `pattern` from `start`: qualifying people, chosen by the system.
    fn hold_bookings(&self, pattern: &Pattern, capacity: &Capacity, start: NaiveDate) -> Result<Vec<(String, f64)>, AppError> {
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

    async fn win_deal(&self, actor: &Actor, given: Option<&str>, pm: &str) -> Result<Reply, AppError> {
        let deal = self.find_deal(actor, given).await?;
        if pm.is_empty() {
            return Err(UserError::Missing { what: "pm=<user>", syntax: crate::app::command::syntax_of("deal") }.into());
        }
        let handover = Handover {
            id: new_id("H", 6),
            deal_id: deal.id.clone(),
            pm: pm.into(),
            state: "sent".into(),
            message_id: None,
            created_at: self.now_text(),
            remind_at: Some(timestamp(self.clock.now() + Duration::hours(self.settings.handover_reminder_hours))),
            acknowledged_at: None,
        };
        let message = self.handover_reply(&deal, &handover).await?;
        let now = self.now_text();
        let mut tx = self.store.pool().begin().await?;
        if !Store::close_deal(&mut tx, &deal.id, "won", Some(pm), &now).await? {
            tx.rollback().await?;
            return Err(UserError::Refused(format!("Deal {} is already {}.", deal.name, deal.status)).into());
        }
        Store::confirm_holds(&mut tx, &deal.id).await?;
        Store::insert_handover(&mut tx, &handover).await?;
        let message_id = Self::send(&mut tx, format!("handover:{}:dm", handover.id), format!("user:{pm}"), &message, None, &now).await?;
        Store::set_handover_message(&mut tx, &handover.id, message_id).await?;
        Store::audit(&mut tx, &now, &actor.user, "deal.won", &deal.id, &format!("handover {} to {pm}", handover.id)).await?;
        tx.commit().await?;
        let deal = self.store.deal(&deal.id).await?.unwrap_or(deal);
        Ok(self.deal_reply(&deal, "won").await?.set("handover_id", &handover.id))
    }

    async fn lose_deal(&self, actor: &Actor, given: Option<&str>) -> Result<Reply, AppError> {
        let deal = self.find_deal(actor, given).await?;
        let now = self.now_text();
        let mut tx = self.store.pool().begin().await?;
        if !Store::close_deal(&mut tx, &deal.id, "lost", None, &now).await? {
            tx.rollback().await?;
            return Err(UserError::Refused(format!("Deal {} is already {}.", deal.name, deal.status)).into());
        }
        Store::release_deal_holds(&mut tx, &deal.id).await?;
        Store::audit(&mut tx, &now, &actor.user, "deal.lost", &deal.id, "").await?;
        tx.commit().await?;
        let deal = self.store.deal(&deal.id).await?.unwrap_or(deal);
        self.deal_reply(&deal, "lost").await
    }

    /// The PM's handover message: everything committed on the deal.
    async fn handover_reply(&self, deal: &Deal, handover: &Handover) -> Result<Reply, AppError> {
        let packages = self.store.packages().await?;
        let package = packages.iter().find(|p| p.id == deal.package);
        let answer = self.compute_start(&StartTarget::Package(deal.package.clone()), None).await.ok();
        let roles = self.store.roles().await?;
        let pattern: Vec<Value> = answer
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
            .set("state", &handover.state)
            .set("commitments", &commitments);
        reply.private = false;
        if handover.state == "sent" {
            reply.actions.push(button("ack_handover", &handover.id, "Acknowledge").primary());
        }
        Ok(reply)
    }

    /// The PM (and only the PM) acknowledges a handover.
    pub(super) async fn acknowledge_handover(&self, actor: &Actor, id: &str) -> Result<Reply, AppError> {
        let handover = self.store.handover(id).await?.ok_or(UserError::UnknownAction)?;
        if handover.pm != actor.user {
            let message = format!("Only the project manager (<@{}>) can acknowledge this handover.", handover.pm);
            return self.refuse(actor, "handover.ack_refused", id, message).await;
        }
        let deal = self.store.deal(&handover.deal_id).await?.ok_or(UserError::UnknownAction)?;
        let now = self.now_text();
        let mut tx = self.store.pool().begin().await?;
        if !Store::acknowledge_handover(&mut tx, id, &now).await? {
            tx.rollback().await?;
            let at = handover.acknowledged_at.unwrap_or_default();
            return Err(UserError::Refused(format!("This handover was already acknowledged at {at}.")).into());
        }
        let acknowledged = Handover { state: "acknowledged".into(), acknowledged_at: Some(now.clone()), ..handover.clone() };
        let updated = self.handover_reply(&deal, &acknowledged).await?;
        Self::send(&mut tx, format!("handover:{id}:acked"), format!("user:{}", handover.pm), &updated, handover.message_id, &now).await?;
        let mut notice = Reply::new("notice");
        notice.headline = format!("<@{}> acknowledged the handover of {}.", handover.pm, deal.name);
        Self::send(&mut tx, format!("handover:{id}:notice"), format!("user:{}", deal.seller), &notice, None, &now).await?;
        Store::audit(&mut tx, &now, &actor.user, "handover.acknowledged", id, &deal.id).await?;
        tx.commit().await?;
        Ok(updated)
    }
}

fn text(value: &Value) -> String {
    value.as_str().map(String::from).unwrap_or_else(|| value.to_string())
}

/// `2 × senior at 16 h/week, 1 × principal at 24 h/week`
fn pattern_summary(roles: &Value) -> String {
    roles
        .as_array()
        .map(|roles| {
            roles
                .iter()
                .map(|r| {
                    format!(
                        "{} × {} at {} h/week",
                        r["count"],
                        // Offers made since role names were recorded carry them; older ones the id.
                        r["role_name"].as_str().map(str::to_string).unwrap_or_else(|| text(&r["role"])),
                        Hours::from_f64(r["hours_per_week"].as_f64().unwrap_or(0.0))
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}
