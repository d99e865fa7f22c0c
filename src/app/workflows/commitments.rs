//! What a deal commits to (SPEC 5.1): one current start, deadline and staffing, each scope item
//! once, a start and a deadline that fit, and one active capacity hold. Every button here acts
//! once: a second press is told what the first did.

use chrono::Duration;
use serde_json::json;

use super::{button, new_id, App};
use crate::app::action::Action;
use crate::app::error::{AppError, UserError};
use crate::app::reply::Reply;
use crate::app::Actor;
use crate::domain::calendar::Calendar;
use crate::domain::capacity::{qualifying_people, Pattern, Requirement};
use crate::domain::deal::{check_fit, Commitment, CommitmentDetails, CommitmentKind, Deal};
use crate::domain::hold::{Hold, HoldState};
use crate::domain::offer::{pattern_summary, Offer, OfferKind, OfferTerms, StartOffer};
use crate::store::{Capacity, Tx};

/// A commitment about to be made: kind, what it fixes, how it reads and where it came from.
pub(super) struct Pledge {
    pub kind: CommitmentKind,
    pub value: String,
    pub summary: String,
    pub source: String,
    pub details: CommitmentDetails,
}

impl App {
    /// "Commit this start": the start and its staffing pattern become the deal's current ones.
    pub(super) async fn commit_start(
        &self,
        actor: &Actor,
        offer_id: &str,
    ) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, offer_id, OfferKind::Start).await?;
        if let Some(done) = self.already_committed(&offer).await? {
            return Ok(done);
        }
        let OfferTerms::Start(start) = &offer.terms else {
            return Err(UserError::UnknownAction.into());
        };
        let deal = self.deal_to_change(actor, Some(&offer), "commitment").await?;
        if let Some(refusal) = self.start_misfit(actor, &deal, start).await? {
            return Ok(refusal);
        }
        let details = CommitmentDetails::Offer(offer.terms.clone());
        let pledges = vec![
            Pledge {
                kind: CommitmentKind::Start,
                value: start.start.to_string(),
                summary: format!(
                    "start {} ({} weeks, {})",
                    start.start,
                    start.weeks,
                    pattern_summary(&start.roles)
                ),
                source: format!("earliest-start engine, capacity as of {}", start.computed_at),
                details: details.clone(),
            },
            Pledge {
                kind: CommitmentKind::Staffing,
                value: pattern_summary(&start.roles),
                summary: format!(
                    "staffing {} for {} weeks",
                    pattern_summary(&start.roles),
                    start.weeks
                ),
                source: "the package's staffing pattern".into(),
                details,
            },
        ];
        self.record_commitments(actor, &deal, &offer, pledges).await
    }

    /// "Commit this deadline" on a comparables answer the deadline rule supports.
    pub(super) async fn commit_deadline(
        &self,
        actor: &Actor,
        offer_id: &str,
    ) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, offer_id, OfferKind::Deadline).await?;
        if let Some(done) = self.already_committed(&offer).await? {
            return Ok(done);
        }
        let OfferTerms::Deadline(deadline) = &offer.terms else {
            return Err(UserError::UnknownAction.into());
        };
        let deal = self.deal_to_change(actor, Some(&offer), "commitment").await?;
        if deadline.approval_required {
            let message = "This deadline needs leadership approval first: use Request approval.";
            return Err(self.refused(actor, "commitment.refused", &deal.id, message).await);
        }
        if let Some(start) = self.current_commitment(&deal, CommitmentKind::Start).await? {
            let start_date = start
                .value
                .parse()
                .map_err(|_| anyhow::anyhow!("stored start '{}' is not a date", start.value))?;
            if let Err(misfit) =
                check_fit(start_date, self.deal_weeks(&deal).await?, deadline.deadline, None)
            {
                return Err(self
                    .refused(actor, "commitment.refused", &deal.id, misfit.to_string())
                    .await);
            }
        }
        let from = deadline.start.map(|d| d.to_string()).unwrap_or_else(|| "none".into());
        let pledge = Pledge {
            kind: CommitmentKind::Deadline,
            value: deadline.deadline.to_string(),
            summary: format!("deadline {} from a start of {from}", deadline.deadline),
            source: format!(
                "comparables: {} projects, {:.0}% finished within",
                deadline.n,
                deadline.share_within * 100.0
            ),
            details: CommitmentDetails::Offer(offer.terms.clone()),
        };
        self.record_commitments(actor, &deal, &offer, vec![pledge]).await
    }

    /// "Add to deal scope" on an inclusion answer: each deliverable at most once per deal.
    pub(super) async fn add_scope(&self, actor: &Actor, offer_id: &str) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, offer_id, OfferKind::Scope).await?;
        if let Some(done) = self.already_committed(&offer).await? {
            return Ok(done);
        }
        let OfferTerms::Scope(scope) = &offer.terms else {
            return Err(UserError::UnknownAction.into());
        };
        let deal = self.deal_to_change(actor, Some(&offer), "commitment").await?;
        let on_deal = self.store.commitments(&deal.id).await?;
        if on_deal
            .iter()
            .any(|c| c.current && c.kind == CommitmentKind::Scope && c.value == scope.deliverable)
        {
            let message = format!(
                "{} is already in the scope of {}.",
                scope.name,
                crate::app::text::user(&deal.name)
            );
            return Err(self.refused(actor, "commitment.refused", &deal.id, message).await);
        }
        let pledge = Pledge {
            kind: CommitmentKind::Scope,
            value: scope.deliverable.clone(),
            summary: format!("{} ({})", scope.name, scope.verdict.as_str().replace('_', "-")),
            source: "deliverable library".into(),
            details: CommitmentDetails::Offer(offer.terms.clone()),
        };
        self.record_commitments(actor, &deal, &offer, vec![pledge]).await
    }

    /// A start must fit the deal's committed deadline, unless that deadline was approved as an
    /// exception for this very start. The refusal (audited) shows the arithmetic and offers to
    /// ask leadership to approve that deadline counted from the new start.
    async fn start_misfit(
        &self,
        actor: &Actor,
        deal: &Deal,
        start: &StartOffer,
    ) -> Result<Option<Reply>, AppError> {
        let Some(deadline) = self.current_commitment(deal, CommitmentKind::Deadline).await? else {
            return Ok(None);
        };
        let deadline_date = deadline
            .value
            .parse()
            .map_err(|_| anyhow::anyhow!("stored deadline '{}' is not a date", deadline.value))?;
        let exception_from = match &deadline.approval_id {
            Some(id) => self.store.approval(id).await?.and_then(|a| a.start_date),
            None => None,
        };
        let Err(misfit) = check_fit(start.start, start.weeks, deadline_date, exception_from) else {
            return Ok(None);
        };
        let UserError::Recorded(message) = self
            .refused(actor, "commitment.refused", &deal.id, misfit.to_string())
            .await
            .into_user()?
        else {
            return Ok(None);
        };
        let mut refusal = Reply::error(message);
        if let (Some(package), true) = (start.package.as_ref(), deadline_date >= start.start) {
            let package = self.package(package).await?;
            let terms = self.deadline_terms(&package, deadline_date, start.start).await?;
            let id = self.offer(actor, terms).await?;
            refusal.actions.push(approval_button(id));
        }
        Ok(Some(refusal))
    }

    /// The deal's current commitment of `kind`.
    pub(super) async fn current_commitment(
        &self,
        deal: &Deal,
        kind: CommitmentKind,
    ) -> Result<Option<Commitment>, AppError> {
        Ok(self
            .store
            .commitments(&deal.id)
            .await?
            .into_iter()
            .find(|c| c.current && c.kind == kind))
    }

    /// The deal's package duration in weeks.
    pub(super) async fn deal_weeks(&self, deal: &Deal) -> Result<i64, AppError> {
        let package = self.store.package_by_id(&deal.package).await?;
        Ok(package.map(|p| p.duration_weeks).unwrap_or(1))
    }

    /// What a button's earlier press committed, told to whoever presses it again.
    async fn already_committed(&self, offer: &Offer) -> Result<Option<Reply>, AppError> {
        let made = self.store.commitments_for_offer(&offer.id).await?;
        let Some(first) = made.first() else { return Ok(None) };
        let mut reply = Reply::new("commitment");
        reply.headline =
            format!("Already recorded: {}. Pressing again changes nothing.", first.summary);
        Ok(Some(
            reply
                .set("deal_id", &first.deal_id)
                .set("commitment", first.kind)
                .set("summary", &first.summary)
                .set("already", true),
        ))
    }

    /// Records `pledges` as the deal's current commitments, in one transaction.
    async fn record_commitments(
        &self,
        actor: &Actor,
        deal: &Deal,
        offer: &Offer,
        pledges: Vec<Pledge>,
    ) -> Result<Reply, AppError> {
        let previous = self.store.commitments(&deal.id).await?;
        let mut tx = self.store.begin().await?;
        for pledge in &pledges {
            let commitment = self.commitment(actor, deal, Some(offer.id.clone()), None, pledge);
            if let Err(conflict) = tx.record_commitment(&commitment).await {
                tx.rollback().await?;
                return match self.already_committed(offer).await? {
                    Some(done) => Ok(done),
                    None => Err(conflict.into()),
                };
            }
            self.audit(&mut tx, &actor.user, "commitment.recorded", &deal.id, &commitment.summary)
                .await?;
        }
        tx.commit().await?;
        let first = &pledges[0];
        let was = previous
            .iter()
            .find(|c| c.current && c.kind == first.kind && c.kind != CommitmentKind::Scope)
            .map(|c| c.summary.clone());
        let context = json!({"deal_name": deal.name, "summary": first.summary, "source": first.source, "was": was});
        Ok(self
            .reply("commitment", "commitment", context)?
            .set("deal_id", &deal.id)
            .set("commitment", first.kind)
            .set("value", &first.value)
            .set("summary", &first.summary)
            .set("source", &first.source)
            .set("was", was))
    }

    /// The commitment `pledge` makes on `deal` now.
    pub(super) fn commitment(
        &self,
        actor: &Actor,
        deal: &Deal,
        offer_id: Option<String>,
        approval_id: Option<String>,
        pledge: &Pledge,
    ) -> Commitment {
        Commitment {
            id: 0,
            deal_id: deal.id.clone(),
            kind: pledge.kind,
            summary: pledge.summary.clone(),
            details: pledge.details.clone(),
            source: pledge.source.clone(),
            approval_id,
            created_by: actor.user.clone(),
            created_at: self.clock.now(),
            value: pledge.value.clone(),
            current: true,
            superseded_at: None,
            offer_id,
        }
    }

    /// "Hold this capacity": tentative bookings for qualifying people, chosen by the system. A
    /// deal has one active hold (a new one replaces it), a seller at most `max_active_holds`.
    pub(super) async fn hold(&self, actor: &Actor, offer_id: &str) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, offer_id, OfferKind::Start).await?;
        if let Some(hold) = self.store.hold_for_offer(&offer.id).await? {
            return self.already_held(&hold);
        }
        let OfferTerms::Start(start) = &offer.terms else {
            return Err(UserError::UnknownAction.into());
        };
        let deal = self.deal_to_change(actor, Some(&offer), "hold").await?;
        let (mut tx, bookings) = self.book_capacity(&held_pattern(start), start.start).await?;
        let replaced = tx.active_hold(&deal.id).await?;
        if let Err(message) = self.check_hold_limit(&mut tx, actor, &deal).await? {
            tx.rollback().await?;
            return Err(self.refused(actor, "hold.refused", &deal.id, message).await);
        }
        if let Some(old) = &replaced {
            tx.end_hold(&old.id, HoldState::Released).await?;
            self.audit(&mut tx, &actor.user, "hold.replaced", &old.id, &deal.id).await?;
        }
        let now = self.clock.now();
        let hold = Hold {
            id: new_id("HLD", 6),
            deal_id: deal.id.clone(),
            start_date: start.start,
            end_date: start.start + Duration::weeks(start.weeks) - Duration::days(1),
            state: HoldState::Active,
            created_by: actor.user.clone(),
            created_at: now,
            expires_at: now + Duration::days(self.settings.hold_days),
            offer_id: Some(offer.id.clone()),
        };
        let summary = pattern_summary(&start.roles);
        if let Err(conflict) = tx.insert_hold(&hold, &bookings).await {
            tx.rollback().await?;
            return match self.store.hold_for_offer(&offer.id).await? {
                Some(first) => self.already_held(&first),
                None => Err(conflict.into()),
            };
        }
        self.audit(
            &mut tx,
            &actor.user,
            "hold.created",
            &hold.id,
            &format!("deal {} {summary} from {}", deal.id, start.start),
        )
        .await?;
        tx.commit().await?;
        let context = json!({
            "deal_name": deal.name, "summary": summary, "start": hold.start_date, "end": hold.end_date,
            "expires": hold.expires_at.date_naive(), "replaced": replaced.map(|h| h.start_date),
        });
        Ok(self
            .reply("hold", "hold", context)?
            .set("hold_id", &hold.id)
            .set("deal_id", &deal.id)
            .set("start", hold.start_date)
            .set("end", hold.end_date)
            .set("expires_at", hold.expires_at)
            .set("people_held", bookings.len()))
    }

    /// The people to book for `pattern` from `start`, with the transaction that books them:
    /// another hold may land between reading capacity and booking it, so the booking happens only
    /// on the capacity version that was read, and capacity is read again when it moved.
    async fn book_capacity(
        &self,
        pattern: &Pattern,
        start: chrono::NaiveDate,
    ) -> Result<(Tx, Vec<(String, f64)>), AppError> {
        for _ in 0..5 {
            let capacity = self.store.capacity().await?;
            let bookings = hold_bookings(pattern, &capacity, start)?;
            let mut tx = self.store.begin().await?;
            if tx.lock_capacity().await? == capacity.version {
                return Ok((tx, bookings));
            }
            // Capacity moved since this request first read the data versions: read them again.
            tx.rollback().await?;
            crate::store::forget_request_versions();
        }
        Err(UserError::Refused(
            "Capacity is changing right now; press Hold again in a moment.".into(),
        )
        .into())
    }

    /// A seller holds capacity for at most `max_active_holds` deals (this deal's own hold aside,
    /// which a new one replaces); the refusal to give otherwise.
    async fn check_hold_limit(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        deal: &Deal,
    ) -> Result<Result<(), String>, AppError> {
        let held = tx.active_holds_by(&actor.user).await?;
        let others = held.iter().filter(|h| h.deal_id != deal.id).count();
        if others < self.settings.max_active_holds {
            return Ok(Ok(()));
        }
        Ok(Err(format!(
            "You already hold capacity for {others} deals, the most one seller may ({}): release one (win or lose its deal) first.",
            self.settings.max_active_holds
        )))
    }

    fn already_held(&self, hold: &Hold) -> Result<Reply, AppError> {
        let mut reply = Reply::new("hold");
        reply.headline = format!(
            "Already held: {} to {} (hold {}, {}). Pressing again changes nothing.",
            hold.start_date, hold.end_date, hold.id, hold.state
        );
        Ok(reply
            .set("hold_id", &hold.id)
            .set("deal_id", &hold.deal_id)
            .set("state", hold.state)
            .set("already", true))
    }
}

/// A button that asks leadership to approve `deadline` counted from a new start.
pub(super) fn approval_button(offer_id: String) -> crate::app::reply::Button {
    button(Action::RequestApproval(offer_id), "Request approval").primary()
}

/// The staffing pattern an earliest-start offer committed to.
fn held_pattern(start: &StartOffer) -> Pattern {
    let requirements = start
        .roles
        .iter()
        .map(|r| Requirement { role: r.role.clone(), count: r.count, hours_per_week: r.hours() })
        .collect();
    Pattern { requirements, weeks: start.weeks }
}

/// Who to book for a hold of `pattern` from `start`: qualifying people, chosen by the system.
fn hold_bookings(
    pattern: &Pattern,
    capacity: &Capacity,
    start: chrono::NaiveDate,
) -> Result<Vec<(String, f64)>, AppError> {
    let chosen = qualifying_people(
        pattern,
        &capacity.people,
        &Calendar::new(capacity.holidays.iter().copied()),
        start,
    );
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
