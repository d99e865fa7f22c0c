//! Scoping tickets (SPEC 5.3) in the database, for `app/workflows/tickets.rs`. Every move is a
//! conditional `UPDATE … WHERE state = …`, so the first valid click wins.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, FromRow, Row};

use super::decode::{opt_text, parsed, text, time, timestamp};
use super::{Store, StoreError, StoreResult, Tx};
use crate::domain::firm::Deliverable;
use crate::domain::ticket::{Ticket, TicketChange, TicketState};

const COLUMNS: &str = "id, deal_id, package, requester, channel, description, state, effort_hours, price, notes, reason, \
    deliverable_id, handled_by, message_id, created_at, updated_at, offer_id";

impl FromRow<'_, AnyRow> for Ticket {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Ticket {
            id: text(row, "id")?,
            deal_id: opt_text(row, "deal_id")?,
            package: opt_text(row, "package")?,
            requester: text(row, "requester")?,
            channel: text(row, "channel")?,
            description: text(row, "description")?,
            state: parsed(row, "state")?,
            effort_hours: row.try_get("effort_hours")?,
            price: row.try_get("price")?,
            notes: opt_text(row, "notes")?,
            reason: opt_text(row, "reason")?,
            deliverable_id: opt_text(row, "deliverable_id")?,
            handled_by: opt_text(row, "handled_by")?,
            message_id: row.try_get("message_id")?,
            created_at: time(row, "created_at")?,
            updated_at: time(row, "updated_at")?,
            offer_id: opt_text(row, "offer_id")?,
        })
    }
}

async fn ticket_by_id<'e>(
    e: impl Executor<'e, Database = Any>,
    id: &str,
) -> StoreResult<Option<Ticket>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM tickets WHERE id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

impl Store {
    pub async fn ticket(&self, id: &str) -> StoreResult<Option<Ticket>> {
        ticket_by_id(&self.pool, id).await
    }

    /// The ticket a button's offer opened, if it was pressed before.
    pub async fn ticket_for_offer(&self, offer_id: &str) -> StoreResult<Option<Ticket>> {
        let sql = format!("SELECT {COLUMNS} FROM tickets WHERE offer_id = $1");
        Ok(sqlx::query_as(&sql).bind(offer_id).fetch_optional(&self.pool).await?)
    }

    pub async fn tickets_for_deal(&self, deal_id: &str) -> StoreResult<Vec<Ticket>> {
        let sql =
            format!("SELECT {COLUMNS} FROM tickets WHERE deal_id = $1 ORDER BY created_at, id");
        Ok(sqlx::query_as(&sql).bind(deal_id).fetch_all(&self.pool).await?)
    }
}

impl Tx {
    /// The ticket, read inside this transaction.
    pub async fn ticket(&mut self, id: &str) -> StoreResult<Ticket> {
        ticket_by_id(self.conn(), id)
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "ticket", id: id.into() })
    }

    pub async fn insert_ticket(&mut self, t: &Ticket) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO tickets ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ))
        .bind(t.id.clone())
        .bind(t.deal_id.clone())
        .bind(t.package.clone())
        .bind(t.requester.clone())
        .bind(t.channel.clone())
        .bind(t.description.clone())
        .bind(t.state.as_str())
        .bind(t.effort_hours)
        .bind(t.price)
        .bind(t.notes.clone())
        .bind(t.reason.clone())
        .bind(t.deliverable_id.clone())
        .bind(t.handled_by.clone())
        .bind(t.message_id)
        .bind(timestamp(t.created_at))
        .bind(timestamp(t.updated_at))
        .bind(t.offer_id.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Moves a ticket from `from` to `to`; false when it was no longer in `from`.
    pub async fn move_ticket(
        &mut self,
        id: &str,
        (from, to): (TicketState, TicketState),
        by: &str,
        at: DateTime<Utc>,
        change: &TicketChange,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE tickets SET state = $1, handled_by = $2, updated_at = $3, effort_hours = COALESCE($4, effort_hours), \
             price = COALESCE($5, price), notes = COALESCE($6, notes), reason = COALESCE($7, reason) \
             WHERE id = $8 AND state = $9",
        )
        .bind(to.as_str())
        .bind(by)
        .bind(timestamp(at))
        .bind(change.effort_hours)
        .bind(change.price)
        .bind(change.notes.clone())
        .bind(change.reason.clone())
        .bind(id)
        .bind(from.as_str())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Links a scoped ticket to the deliverable made from it; false when already linked.
    pub async fn link_ticket_deliverable(
        &mut self,
        id: &str,
        deliverable: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE tickets SET deliverable_id = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'scoped' AND deliverable_id IS NULL",
        )
        .bind(deliverable)
        .bind(timestamp(at))
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_ticket_message(&mut self, id: &str, message_id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE tickets SET message_id = $1 WHERE id = $2")
            .bind(message_id)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Adds one deliverable made from a scoped ticket.
    pub async fn insert_deliverable(&mut self, d: &Deliverable) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO deliverables (id, name, aliases, category, effort_hours, price, depends_on, description) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(d.id.clone())
        .bind(d.name.clone())
        .bind(d.aliases.join(";"))
        .bind(d.category.as_str())
        .bind(d.effort_hours)
        .bind(d.price)
        .bind(d.depends_on.join(";"))
        .bind(d.description.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
