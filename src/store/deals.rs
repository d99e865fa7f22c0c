//! Deals, channel bindings, offers, commitments and capacity holds (SPEC 5.1) in the database,
//! for `app/workflows/deals.rs`.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, FromRow, Row};

use super::decode::{date, json, opt_text, opt_time, parsed, text, time, timestamp};
use super::{Store, StoreError, StoreResult, Tx};
use crate::domain::approval::{DeadlineEvidence, EarlyStartEvidence, Evidence};
use crate::domain::deal::{Commitment, CommitmentDetails, CommitmentKind, Deal, DealStatus};
use crate::domain::hold::{Hold, HoldState};
use crate::domain::offer::{Offer, OfferKind, OfferTerms};

const DEAL_COLUMNS: &str = "d.id, d.name, d.client, d.package, d.seller, d.channel, d.status, d.pm, d.created_at, d.closed_at";

impl FromRow<'_, AnyRow> for Deal {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Deal {
            id: text(row, "id")?,
            name: text(row, "name")?,
            client: text(row, "client")?,
            package: text(row, "package")?,
            seller: text(row, "seller")?,
            channel: text(row, "channel")?,
            status: parsed(row, "status")?,
            pm: opt_text(row, "pm")?,
            created_at: time(row, "created_at")?,
            closed_at: opt_time(row, "closed_at")?,
        })
    }
}

const HOLD_COLUMNS: &str =
    "id, deal_id, start_date, end_date, state, created_by, created_at, expires_at, offer_id";

impl FromRow<'_, AnyRow> for Hold {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Hold {
            id: text(row, "id")?,
            deal_id: text(row, "deal_id")?,
            start_date: date(row, "start_date")?,
            end_date: date(row, "end_date")?,
            state: parsed(row, "state")?,
            created_by: text(row, "created_by")?,
            created_at: time(row, "created_at")?,
            expires_at: time(row, "expires_at")?,
            offer_id: opt_text(row, "offer_id")?,
        })
    }
}

impl FromRow<'_, AnyRow> for Offer {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let kind: OfferKind = parsed(row, "kind")?;
        Ok(Offer {
            id: text(row, "id")?,
            owner: text(row, "actor")?,
            channel: text(row, "channel")?,
            terms: offer_terms(kind, &text(row, "payload")?).map_err(|e| {
                sqlx::Error::ColumnDecode { index: "payload".into(), source: e.into() }
            })?,
            created_at: time(row, "created_at")?,
            deal: opt_text(row, "deal_id")?,
        })
    }
}

/// Offer terms, tagged with their kind; offers saved before the tag was stored carry it only in
/// the `kind` column.
fn offer_terms(kind: OfferKind, payload: &str) -> Result<OfferTerms, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_str(payload)?;
    if let Some(object) = value.as_object_mut() {
        object.entry("kind").or_insert_with(|| kind.as_str().into());
    }
    serde_json::from_value(value)
}

impl FromRow<'_, AnyRow> for Commitment {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let kind: CommitmentKind = parsed(row, "kind")?;
        let approval_id = opt_text(row, "approval_id")?;
        let details = match (approval_id.is_some(), kind) {
            (true, CommitmentKind::Deadline) => CommitmentDetails::Approval(Evidence::Deadline(
                json::<DeadlineEvidence>(row, "details")?,
            )),
            (true, _) => {
                CommitmentDetails::Approval(Evidence::EarlyStart(json::<EarlyStartEvidence>(
                    row, "details",
                )?))
            }
            (false, _) => {
                // A staffing commitment is made from an earliest-start answer, like its start.
                let offer_kind = match kind {
                    CommitmentKind::Start | CommitmentKind::Staffing => OfferKind::Start,
                    CommitmentKind::Deadline => OfferKind::Deadline,
                    CommitmentKind::Scope => OfferKind::Scope,
                };
                CommitmentDetails::Offer(offer_terms(offer_kind, &text(row, "details")?).map_err(
                    |e| sqlx::Error::ColumnDecode { index: "details".into(), source: e.into() },
                )?)
            }
        };
        Ok(Commitment {
            id: row.try_get("id")?,
            deal_id: text(row, "deal_id")?,
            kind,
            summary: text(row, "summary")?,
            details,
            source: text(row, "source")?,
            approval_id,
            created_by: text(row, "created_by")?,
            created_at: time(row, "created_at")?,
            value: text(row, "value")?,
            current: row.try_get::<i64, _>("current")? != 0,
            superseded_at: opt_time(row, "superseded_at")?,
            offer_id: opt_text(row, "offer_id")?,
        })
    }
}

const COMMITMENT_COLUMNS: &str =
    "id, deal_id, kind, summary, details, source, approval_id, created_by, created_at, value, current, superseded_at, offer_id";

/// A deal by id, or by name when no id matches.
async fn deal_named<'e>(
    e: impl Executor<'e, Database = Any>,
    id_or_name: &str,
) -> StoreResult<Option<Deal>> {
    let sql = format!(
        "SELECT {DEAL_COLUMNS} FROM deals d WHERE d.id = $1 OR lower(d.name) = lower($1) \
         ORDER BY (d.id = $1) DESC, d.created_at DESC LIMIT 1"
    );
    Ok(sqlx::query_as(&sql).bind(id_or_name).fetch_optional(e).await?)
}

impl Store {
    /// A deal by id, or by name when no id matches.
    pub async fn deal(&self, id_or_name: &str) -> StoreResult<Option<Deal>> {
        deal_named(&self.pool, id_or_name).await
    }

    /// The deal `channel` is about. Nearly every question asks, so the answer is remembered per
    /// channel until the `deals` version moves (a deal or a channel's deal changed, anywhere).
    pub async fn deal_for_channel(&self, channel: &str) -> StoreResult<Option<Deal>> {
        let version = self.request_version("deals").await?;
        if let Some(known) = self.caches.channel_deals.get(version, channel) {
            return Ok(known);
        }
        let sql = format!("SELECT {DEAL_COLUMNS} FROM deals d JOIN channel_deals c ON c.deal_id = d.id WHERE c.channel = $1");
        // Read after the version: at least as new as the version it is kept under.
        let deal: Option<Deal> =
            sqlx::query_as(&sql).bind(channel).fetch_optional(&self.pool).await?;
        self.caches.channel_deals.put(version, channel, deal.clone());
        Ok(deal)
    }

    pub async fn deal_id_taken(&self, id: &str) -> StoreResult<bool> {
        Ok(sqlx::query("SELECT 1 FROM deals WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    pub async fn offer(&self, id: &str) -> StoreResult<Option<Offer>> {
        let sql = "SELECT id, kind, actor, channel, payload, created_at, deal_id FROM offers WHERE id = $1";
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    /// Every commitment of the deal, current and superseded, oldest first.
    pub async fn commitments(&self, deal_id: &str) -> StoreResult<Vec<Commitment>> {
        let sql =
            format!("SELECT {COMMITMENT_COLUMNS} FROM commitments WHERE deal_id = $1 ORDER BY id");
        Ok(sqlx::query_as(&sql).bind(deal_id).fetch_all(&self.pool).await?)
    }

    /// The commitments a button's offer made, if it was pressed before.
    pub async fn commitments_for_offer(&self, offer_id: &str) -> StoreResult<Vec<Commitment>> {
        let sql =
            format!("SELECT {COMMITMENT_COLUMNS} FROM commitments WHERE offer_id = $1 ORDER BY id");
        Ok(sqlx::query_as(&sql).bind(offer_id).fetch_all(&self.pool).await?)
    }

    /// The channels bound to the deal.
    pub async fn channels_of_deal(&self, deal_id: &str) -> StoreResult<Vec<String>> {
        let sql = "SELECT channel FROM channel_deals WHERE deal_id = $1 ORDER BY channel";
        Ok(sqlx::query_scalar(sql).bind(deal_id).fetch_all(&self.pool).await?)
    }

    /// The hold a button's offer placed, if it was pressed before.
    pub async fn hold_for_offer(&self, offer_id: &str) -> StoreResult<Option<Hold>> {
        let sql = format!("SELECT {HOLD_COLUMNS} FROM holds WHERE offer_id = $1");
        Ok(sqlx::query_as(&sql).bind(offer_id).fetch_optional(&self.pool).await?)
    }

    pub async fn holds_for_deal(&self, deal_id: &str) -> StoreResult<Vec<Hold>> {
        let sql =
            format!("SELECT {HOLD_COLUMNS} FROM holds WHERE deal_id = $1 ORDER BY created_at, id");
        Ok(sqlx::query_as(&sql).bind(deal_id).fetch_all(&self.pool).await?)
    }

    /// Active holds whose time ran out at `now`.
    pub async fn lapsed_holds(&self, now: chrono::DateTime<chrono::Utc>) -> StoreResult<Vec<Hold>> {
        let sql = format!("SELECT {HOLD_COLUMNS} FROM holds WHERE state = 'active' AND expires_at <= $1 ORDER BY id");
        Ok(sqlx::query_as(&sql).bind(timestamp(now)).fetch_all(&self.pool).await?)
    }

    /// Saves what an answer's buttons would commit.
    /// Saves an offer; written together with the other requests' offers (`batch.rs`).
    pub async fn insert_offer(&self, offer: Offer) -> StoreResult<()> {
        self.batched(offer).await
    }

    /// Saves `offers` with one statement.
    pub(crate) async fn insert_offers(&self, offers: &[Offer]) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO offers (id, kind, actor, channel, payload, created_at, deal_id) VALUES {}",
            super::value_rows(self.backend, offers.len(), 7)
        );
        let mut query = sqlx::query(&sql);
        for offer in offers {
            let payload = serde_json::to_string(&offer.terms)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            query = query
                .bind(offer.id.clone())
                .bind(offer.terms.kind().as_str())
                .bind(offer.owner.clone())
                .bind(offer.channel.clone())
                .bind(payload)
                .bind(timestamp(offer.created_at))
                .bind(offer.deal.clone());
        }
        query.execute(&self.pool).await?;
        Ok(())
    }
}

impl Tx {
    /// The deal, read inside this transaction.
    pub async fn deal(&mut self, id_or_name: &str) -> StoreResult<Option<Deal>> {
        deal_named(self.conn(), id_or_name).await
    }

    /// Creates a deal; a `Conflict` on `deals` when its id is taken (two sellers at once).
    pub async fn insert_deal(&mut self, deal: &Deal) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO deals (id, name, client, package, seller, channel, status, pm, created_at, closed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(deal.id.clone())
        .bind(deal.name.clone())
        .bind(deal.client.clone())
        .bind(deal.package.clone())
        .bind(deal.seller.clone())
        .bind(deal.channel.clone())
        .bind(deal.status.as_str())
        .bind(deal.pm.clone())
        .bind(timestamp(deal.created_at))
        .bind(deal.closed_at.map(timestamp))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn bind_channel(&mut self, channel: &str, deal_id: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO channel_deals (channel, deal_id) VALUES ($1, $2) \
             ON CONFLICT (channel) DO UPDATE SET deal_id = excluded.deal_id",
        )
        .bind(channel)
        .bind(deal_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Closes an open deal; false when it was not open any more.
    pub async fn close_deal(
        &mut self,
        id: &str,
        status: DealStatus,
        pm: Option<&str>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE deals SET status = $1, pm = COALESCE($2, pm), closed_at = $3 WHERE id = $4 AND status = 'open'")
            .bind(status.as_str())
            .bind(pm)
            .bind(timestamp(at))
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a commitment as the deal's current one of its kind: the one it replaces (a start,
    /// a deadline, a staffing) stays as history, no longer current. A scope item already on the
    /// deal, or a button pressed twice, is a `Conflict`.
    pub async fn record_commitment(&mut self, c: &Commitment) -> StoreResult<()> {
        if c.kind != CommitmentKind::Scope {
            sqlx::query("UPDATE commitments SET current = 0, superseded_at = $1 WHERE deal_id = $2 AND kind = $3 AND current = 1")
                .bind(timestamp(c.created_at))
                .bind(c.deal_id.clone())
                .bind(c.kind.as_str())
                .execute(self.conn())
                .await?;
        }
        let details =
            serde_json::to_string(&c.details).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO commitments (deal_id, kind, summary, details, source, approval_id, created_by, created_at, value, current, offer_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10)",
        )
        .bind(c.deal_id.clone())
        .bind(c.kind.as_str())
        .bind(c.summary.clone())
        .bind(details)
        .bind(c.source.clone())
        .bind(c.approval_id.clone())
        .bind(c.created_by.clone())
        .bind(timestamp(c.created_at))
        .bind(c.value.clone())
        .bind(c.offer_id.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Active holds placed by `user`, read inside this transaction.
    pub async fn active_holds_by(&mut self, user: &str) -> StoreResult<Vec<Hold>> {
        let sql = format!("SELECT {HOLD_COLUMNS} FROM holds WHERE created_by = $1 AND state = 'active' ORDER BY id");
        Ok(sqlx::query_as(&sql).bind(user).fetch_all(self.conn()).await?)
    }

    /// The deal's active hold, read inside this transaction.
    pub async fn active_hold(&mut self, deal_id: &str) -> StoreResult<Option<Hold>> {
        let sql =
            format!("SELECT {HOLD_COLUMNS} FROM holds WHERE deal_id = $1 AND state = 'active'");
        Ok(sqlx::query_as(&sql).bind(deal_id).fetch_optional(self.conn()).await?)
    }

    /// Books a hold: tentative allocations tagged with the hold, one per (person, hours).
    pub async fn insert_hold(
        &mut self,
        hold: &Hold,
        bookings: &[(String, f64)],
    ) -> StoreResult<()> {
        let from = self.lock_capacity().await?;
        sqlx::query(&format!(
            "INSERT INTO holds ({HOLD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(hold.id.clone())
        .bind(hold.deal_id.clone())
        .bind(hold.start_date.to_string())
        .bind(hold.end_date.to_string())
        .bind(hold.state.as_str())
        .bind(hold.created_by.clone())
        .bind(timestamp(hold.created_at))
        .bind(timestamp(hold.expires_at))
        .bind(hold.offer_id.clone())
        .execute(self.conn())
        .await?;
        for (person, hours) in bookings {
            sqlx::query(
                "INSERT INTO allocations (person, project, start_date, end_date, hours_per_week, status, hold_id) \
                 VALUES ($1, $2, $3, $4, $5, 'tentative', $6)",
            )
            .bind(person.clone())
            .bind(format!("hold:{}", hold.id))
            .bind(hold.start_date.to_string())
            .bind(hold.end_date.to_string())
            .bind(*hours)
            .bind(hold.id.clone())
            .execute(self.conn())
            .await?;
        }
        let people: Vec<String> = bookings.iter().map(|(person, _)| person.clone()).collect();
        self.log_capacity_change(from, &people).await
    }

    /// Ends an active hold as `to` (released or expired), its bookings removed; false when it was
    /// not active.
    pub async fn end_hold(&mut self, id: &str, to: HoldState) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE holds SET state = $1 WHERE id = $2 AND state = 'active'")
            .bind(to.as_str())
            .bind(id)
            .execute(self.conn())
            .await?;
        if done.rows_affected() == 1 && !to.keeps_bookings() {
            let from = self.lock_capacity().await?;
            let people = self.hold_people(HOLD_PEOPLE, id).await?;
            sqlx::query("DELETE FROM allocations WHERE hold_id = $1")
                .bind(id)
                .execute(self.conn())
                .await?;
            self.log_capacity_change(from, &people).await?;
        }
        Ok(done.rows_affected() == 1)
    }

    /// A won deal's active holds become confirmed bookings.
    pub async fn confirm_holds(&mut self, deal_id: &str) -> StoreResult<u64> {
        let from = self.lock_capacity().await?;
        let people = self.hold_people(DEAL_HOLD_PEOPLE, deal_id).await?;
        sqlx::query(
            "UPDATE allocations SET status = 'confirmed' \
             WHERE hold_id IN (SELECT id FROM holds WHERE deal_id = $1 AND state = 'active')",
        )
        .bind(deal_id)
        .execute(self.conn())
        .await?;
        let done = sqlx::query(
            "UPDATE holds SET state = 'confirmed' WHERE deal_id = $1 AND state = 'active'",
        )
        .bind(deal_id)
        .execute(self.conn())
        .await?;
        self.log_capacity_change(from, &people).await?;
        Ok(done.rows_affected())
    }

    /// Releases every active hold of a deal (lost deals).
    pub async fn release_deal_holds(&mut self, deal_id: &str) -> StoreResult<()> {
        let from = self.lock_capacity().await?;
        let people = self.hold_people(DEAL_HOLD_PEOPLE, deal_id).await?;
        sqlx::query("DELETE FROM allocations WHERE hold_id IN (SELECT id FROM holds WHERE deal_id = $1 AND state = 'active')")
            .bind(deal_id)
            .execute(self.conn())
            .await?;
        sqlx::query("UPDATE holds SET state = 'released' WHERE deal_id = $1 AND state = 'active'")
            .bind(deal_id)
            .execute(self.conn())
            .await?;
        self.log_capacity_change(from, &people).await
    }
}

/// The people one hold books.
const HOLD_PEOPLE: &str = "SELECT DISTINCT person FROM allocations WHERE hold_id = $1";

/// The people a deal's active holds book.
const DEAL_HOLD_PEOPLE: &str = "SELECT DISTINCT person FROM allocations \
     WHERE hold_id IN (SELECT id FROM holds WHERE deal_id = $1 AND state = 'active')";

/// Channels' deals as read at one `deals` version (`Store::deal_for_channel`).
#[derive(Default)]
pub(crate) struct ChannelDeals(std::sync::Mutex<(i64, HashMap<String, Option<Deal>>)>);

/// At most this many channels remembered; past it, they are read again.
const CHANNELS_KEPT: usize = 10_000;

impl ChannelDeals {
    fn get(&self, version: i64, channel: &str) -> Option<Option<Deal>> {
        let known = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        (known.0 == version).then(|| known.1.get(channel).cloned()).flatten()
    }

    fn put(&self, version: i64, channel: &str, deal: Option<Deal>) {
        let mut known = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if known.0 != version || known.1.len() >= CHANNELS_KEPT {
            if version < known.0 {
                return;
            }
            *known = (version, HashMap::new());
        }
        known.1.insert(channel.to_string(), deal);
    }
}
