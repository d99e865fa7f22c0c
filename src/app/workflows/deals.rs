//! Deals (SPEC 5.1) and the handover (5.4): who may change a deal, which channel it is bound to,
//! winning and losing it, and what the project manager inherits.

use crate::domain::offer::Offer;
use chrono::Duration;
use serde_json::json;

use super::{button, new_id, App};
use crate::app::action::Action;
use crate::app::answers::{CommitmentView, DealAnswer, HoldView};
use crate::app::command::{DealCommand, StartTarget};
use crate::app::error::{AppError, UserError};
use crate::app::reply::{Reply, Target};
use crate::app::text::user;
use crate::app::{resolve_package, Actor};
use crate::domain::deal::{nth_candidate, pm_reference, slug, Deal, DealRoles, DealStatus};
use crate::domain::handover::{Handover, HandoverState};

/// How many ids a new deal tries (`acme`, `acme-2`, …) when others take them at the same moment.
const DEAL_ID_ATTEMPTS: usize = 50;

impl App {
    pub(in crate::app) async fn deal(
        &self,
        actor: &Actor,
        command: DealCommand,
    ) -> Result<Reply, AppError> {
        match command {
            DealCommand::New { name, package, client } => {
                self.new_deal(actor, &name, &package, client).await
            }
            DealCommand::Show { deal } => self.show_deal(actor, deal.as_deref()).await,
            DealCommand::Use { deal } => self.use_deal(actor, &deal).await,
            DealCommand::Won { deal, pm } => self.win_deal(actor, deal.as_deref(), &pm).await,
            DealCommand::Lost { deal } => self.lose_deal(actor, deal.as_deref()).await,
        }
    }

    pub(in crate::app) async fn find_deal(
        &self,
        actor: &Actor,
        given: Option<&str>,
    ) -> Result<Deal, AppError> {
        match given {
            Some(given) => Ok(self
                .store
                .deal(given)
                .await?
                .ok_or_else(|| UserError::UnknownDeal(given.into()))?),
            None => self.current_deal(actor, None).await,
        }
    }

    /// Refuses (and audits) unless `actor` may change `deal` and it is still open.
    pub(super) async fn check_deal_change(
        &self,
        actor: &Actor,
        deal: &Deal,
        what: &str,
    ) -> Result<(), AppError> {
        let refusal = match deal.check_change(&actor.user, &actor.groups, &self.sales_leads()) {
            Ok(()) => deal.check_open().err(),
            Err(refusal) => Some(refusal),
        };
        match refusal {
            Some(refusal) => Err(self
                .refused(
                    actor,
                    &format!("{what}.refused"),
                    &deal.id,
                    UserError::from(refusal).to_string(),
                )
                .await),
            None => Ok(()),
        }
    }

    /// The deal a button acts on (the actor's channel's, or the answer's), when `actor` may
    /// change it and it is open.
    pub(super) async fn deal_to_change(
        &self,
        actor: &Actor,
        offer: Option<&Offer>,
        what: &str,
    ) -> Result<Deal, AppError> {
        let deal = self.current_deal(actor, offer).await?;
        self.check_deal_change(actor, &deal, what).await?;
        Ok(deal)
    }

    /// A channel bound to someone else's open deal is theirs: only who may change that deal
    /// rebinds it. Returns the deal the channel was bound to, if any.
    async fn check_rebind(
        &self,
        actor: &Actor,
        to: Option<&Deal>,
    ) -> Result<Option<Deal>, AppError> {
        let Some(bound) = self.store.deal_for_channel(&actor.channel).await? else {
            return Ok(None);
        };
        if to.is_some_and(|d| d.id == bound.id) || bound.status != DealStatus::Open {
            return Ok(Some(bound));
        }
        if bound.check_change(&actor.user, &actor.groups, &self.sales_leads()).is_err() {
            let message = format!(
                "This channel is bound to {} ({}), <@{}>'s deal: only its seller or a sales lead can bind it to another deal. \
                 Work on your deal from its own channel, or add deal=<deal>.",
                user(&bound.name),
                bound.id,
                bound.seller
            );
            return Err(self.refused(actor, "deal.refused", &bound.id, message).await);
        }
        Ok(Some(bound))
    }

    /// Creates a deal under the first free id its name gives; two sellers naming "Acme" at the
    /// same moment get `acme` and `acme-2`.
    async fn new_deal(
        &self,
        actor: &Actor,
        name: &str,
        package: &str,
        client: Option<String>,
    ) -> Result<Reply, AppError> {
        let packages = self.store.packages().await?;
        let package = resolve_package(&packages, package)?;
        let previous = self.check_rebind(actor, None).await?;
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
            self.audit(
                &mut tx,
                &actor.user,
                "deal.created",
                &deal.id,
                &format!("package {}", deal.package),
            )
            .await?;
            tx.commit().await?;
            return self.deal_reply(&deal, "created", previous.map(|p| p.id)).await;
        }
        Err(UserError::Conflict.into())
    }

    /// `/deal use <deal>`: binds this channel to one of the deals the actor may change.
    async fn use_deal(&self, actor: &Actor, given: &str) -> Result<Reply, AppError> {
        let deal = self.find_deal(actor, Some(given)).await?;
        self.check_deal_change(actor, &deal, "deal").await?;
        let previous = self.check_rebind(actor, Some(&deal)).await?.filter(|p| p.id != deal.id);
        let mut tx = self.store.begin().await?;
        tx.bind_channel(&actor.channel, &deal.id).await?;
        let was = previous.as_ref().map(|p| format!("was {}", p.id)).unwrap_or_default();
        self.audit(
            &mut tx,
            &actor.user,
            "deal.bound",
            &deal.id,
            &format!("channel {} {was}", actor.channel),
        )
        .await?;
        tx.commit().await?;
        self.deal_reply(&deal, "rebound", previous.map(|p| p.id)).await
    }

    /// `/deal show`: to its seller, sales leads, approvers, presales and its PM.
    async fn show_deal(&self, actor: &Actor, given: Option<&str>) -> Result<Reply, AppError> {
        let deal = self.find_deal(actor, given).await?;
        let (sales_leads, approvers, presales) =
            (self.sales_leads(), self.approvers(), self.presales());
        let roles =
            DealRoles { sales_leads: &sales_leads, approvers: &approvers, presales: &presales };
        if !deal.may_see(&actor.user, &actor.groups, roles) {
            let message = format!(
                "Deal {} is visible to its seller, sales leads, approvers, presales and its PM.",
                user(&deal.name)
            );
            return Err(self.refused(actor, "deal.refused", &deal.id, message).await);
        }
        self.deal_reply(&deal, "show", None).await
    }

    pub(super) async fn deal_reply(
        &self,
        deal: &Deal,
        event: &str,
        rebound_from: Option<String>,
    ) -> Result<Reply, AppError> {
        let answer = DealAnswer {
            id: deal.id.clone(),
            name: deal.name.clone(),
            client: deal.client.clone(),
            seller: deal.seller.clone(),
            status: deal.status,
            package: deal.package.clone(),
            pm: deal.pm.clone(),
            channels: self.store.channels_of_deal(&deal.id).await?,
            commitments: self
                .store
                .commitments(&deal.id)
                .await?
                .iter()
                .map(CommitmentView::from)
                .collect(),
            holds: self.store.holds_for_deal(&deal.id).await?.iter().map(HoldView::from).collect(),
            tickets: self.store.tickets_for_deal(&deal.id).await?,
            event: event.into(),
            rebound_from,
            deal_id: deal.id.clone(),
        };
        self.answer("deal", &answer)
    }

    async fn win_deal(
        &self,
        actor: &Actor,
        given: Option<&str>,
        pm: &str,
    ) -> Result<Reply, AppError> {
        let deal = self.find_deal(actor, given).await?;
        self.check_deal_change(actor, &deal, "deal").await?;
        let pm = match pm_reference(pm) {
            Ok(pm) => pm,
            Err(refusal) => {
                return Err(self
                    .refused(actor, "deal.refused", &deal.id, refusal.to_string())
                    .await)
            }
        };
        if !self.is_person(&pm).await? {
            let message = format!(
                "pm= must name a person the firm can hand the deal to: <@{pm}> is a bot, a deactivated account, or not in this workspace."
            );
            return Err(self.refused(actor, "deal.refused", &deal.id, message).await);
        }
        let now = self.clock.now();
        let handover = Handover {
            id: new_id("H", 6),
            deal_id: deal.id.clone(),
            pm: pm.clone(),
            state: HandoverState::Sent,
            message_id: None,
            created_at: now,
            remind_at: Some(now + Duration::hours(self.settings.handover_reminder_hours)),
            acknowledged_at: None,
        };
        let message = self.handover_reply(&deal, &handover).await?;
        let mut tx = self.store.begin().await?;
        if !tx.close_deal(&deal.id, DealStatus::Won, Some(&pm), now).await? {
            tx.rollback().await?;
            return Err(UserError::Refused(format!(
                "Deal {} is no longer open.",
                user(&deal.name)
            ))
            .into());
        }
        tx.confirm_holds(&deal.id).await?;
        tx.insert_handover(&handover).await?;
        let key = format!("handover:{}:dm", handover.id);
        let message_id =
            self.send(&mut tx, &actor.user, key, Target::User(pm.clone()), &message, None).await?;
        tx.set_handover_message(&handover.id, message_id).await?;
        self.audit(
            &mut tx,
            &actor.user,
            "deal.won",
            &deal.id,
            &format!("handover {} to {pm}", handover.id),
        )
        .await?;
        let deal = tx.deal(&deal.id).await?.unwrap_or(deal);
        tx.commit().await?;
        let mut reply = self.deal_reply(&deal, "won", None).await?.set("handover_id", &handover.id);
        reply.body = format!(
            "Handover {} waits for <@{}> to acknowledge it (the button in their message, or act ack_handover:{}).\n{}",
            handover.id, pm, handover.id, reply.body
        )
        .trim_end()
        .to_string();
        Ok(reply)
    }

    async fn lose_deal(&self, actor: &Actor, given: Option<&str>) -> Result<Reply, AppError> {
        let deal = self.find_deal(actor, given).await?;
        self.check_deal_change(actor, &deal, "deal").await?;
        let mut tx = self.store.begin().await?;
        if !tx.close_deal(&deal.id, DealStatus::Lost, None, self.clock.now()).await? {
            tx.rollback().await?;
            return Err(UserError::Refused(format!(
                "Deal {} is no longer open.",
                user(&deal.name)
            ))
            .into());
        }
        tx.release_deal_holds(&deal.id).await?;
        self.audit(&mut tx, &actor.user, "deal.lost", &deal.id, "").await?;
        let deal = tx.deal(&deal.id).await?.unwrap_or(deal);
        tx.commit().await?;
        self.deal_reply(&deal, "lost", None).await
    }

    /// The PM's handover message: everything committed on the deal, what it replaced.
    async fn handover_reply(&self, deal: &Deal, handover: &Handover) -> Result<Reply, AppError> {
        let package = self.store.package_by_id(&deal.package).await?;
        let package = package.as_ref();
        let answer =
            self.compute_start(&StartTarget::Package(deal.package.clone()), None).await.ok();
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
        let commitments: Vec<CommitmentView> =
            self.store.commitments(&deal.id).await?.iter().map(CommitmentView::from).collect();
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
            reply.actions.push(
                button(Action::AcknowledgeHandover(handover.id.clone()), "Acknowledge").primary(),
            );
        }
        Ok(reply)
    }

    /// The PM (and only the PM) acknowledges a handover, once.
    pub(super) async fn acknowledge_handover(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<Reply, AppError> {
        let handover = self.store.handover(id).await?.ok_or(UserError::UnknownAction)?;
        if let Err(refusal) = handover.check_acknowledge(&actor.user) {
            return Err(self.refused(actor, "handover.ack_refused", id, refusal.to_string()).await);
        }
        let deal = self.store.deal(&handover.deal_id).await?.ok_or(UserError::UnknownAction)?;
        let now = self.clock.now();
        let acknowledged = Handover {
            state: HandoverState::Acknowledged,
            acknowledged_at: Some(now),
            ..handover.clone()
        };
        let updated = self.handover_reply(&deal, &acknowledged).await?;
        let mut tx = self.store.begin().await?;
        if !tx.acknowledge_handover(id, now).await? {
            tx.rollback().await?;
            let current = self.store.handover(id).await?.ok_or(UserError::UnknownAction)?;
            let message = current.check_acknowledge(&actor.user).err().map(|r| r.to_string());
            let message =
                message.unwrap_or_else(|| "This handover was already acknowledged.".into());
            return Err(self.refused(actor, "handover.ack_refused", id, message).await);
        }
        let pm = Target::User(handover.pm.clone());
        self.send(
            &mut tx,
            &actor.user,
            format!("handover:{id}:acked"),
            pm.clone(),
            &updated,
            handover.message_id,
        )
        .await?;
        // Its reminders lose their Acknowledge button too.
        for reminder in tx.outbox_ids_with_prefix(&format!("handover:{id}:reminder:")).await? {
            let mut settled = Reply::new("reminder");
            settled.headline = format!(
                "The handover of {} is acknowledged: nothing more to do here.",
                user(&deal.name)
            );
            let key = format!("handover:{id}:reminder-settled:{reminder}");
            self.send(&mut tx, &actor.user, key, pm.clone(), &settled, Some(reminder)).await?;
        }
        let mut notice = Reply::new("notice");
        notice.headline =
            format!("<@{}> acknowledged the handover of {}.", handover.pm, user(&deal.name));
        self.send(
            &mut tx,
            &actor.user,
            format!("handover:{id}:notice"),
            Target::User(deal.seller.clone()),
            &notice,
            None,
        )
        .await?;
        self.audit(&mut tx, &actor.user, "handover.acknowledged", id, &deal.id).await?;
        tx.commit().await?;
        Ok(updated)
    }
}
