//! Deals, offers, commitments and capacity holds (SPEC 5.1) in the database.

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::Store;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deal {
    pub id: String,
    pub name: String,
    pub client: String,
    pub package: String,
    pub seller: String,
    pub channel: String,
    pub status: String,
    pub pm: Option<String>,
    pub created_at: String,
    pub closed_at: Option<String>,
}

/// What a button on an answer would commit, kept server-side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Offer {
    pub id: String,
    pub kind: String,
    pub actor: String,
    pub channel: String,
    pub payload: Value,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Commitment {
    pub id: i64,
    pub deal_id: String,
    pub kind: String,
    pub summary: String,
    pub details: Value,
    pub source: String,
    pub approval_id: Option<String>,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hold {
    pub id: String,
    pub deal_id: String,
    pub start_date: String,
    pub end_date: String,
    pub state: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
}

const DEAL_COLUMNS: &str = "id, name, client, package, seller, channel, status, pm, created_at, closed_at";

fn deal_from_row(r: &AnyRow) -> Deal {
    Deal {
        id: r.get(0),
        name: r.get(1),
        client: r.get(2),
        package: r.get(3),
        seller: r.get(4),
        channel: r.get(5),
        status: r.get(6),
        pm: r.get(7),
        created_at: r.get(8),
        closed_at: r.get(9),
    }
}

const HOLD_COLUMNS: &str = "id, deal_id, start_date, end_date, state, created_by, created_at, expires_at";

fn hold_from_row(r: &AnyRow) -> Hold {
    Hold {
        id: r.get(0),
        deal_id: r.get(1),
        start_date: r.get(2),
        end_date: r.get(3),
        state: r.get(4),
        created_by: r.get(5),
        created_at: r.get(6),
        expires_at: r.get(7),
    }
}

impl Store {
    pub async fn insert_deal(conn: &mut AnyConnection, deal: &Deal) -> anyhow::Result<()> {
        sqlx::query(&format!("INSERT INTO deals ({DEAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"))
            .bind(deal.id.clone())
            .bind(deal.name.clone())
            .bind(deal.client.clone())
            .bind(deal.package.clone())
            .bind(deal.seller.clone())
            .bind(deal.channel.clone())
            .bind(deal.status.clone())
            .bind(deal.pm.clone())
            .bind(deal.created_at.clone())
            .bind(deal.closed_at.clone())
            .execute(&mut *conn)
            .await
            .context("creating the deal")?;
        Ok(())
    }

    /// A deal by id, or by name when no id matches.
    pub async fn deal(&self, id_or_name: &str) -> anyhow::Result<Option<Deal>> {
        let row = sqlx::query(&format!(
            "SELECT {DEAL_COLUMNS} FROM deals WHERE id = $1 OR lower(name) = lower($1) ORDER BY (id = $1) DESC, created_at DESC LIMIT 1"
        ))
        .bind(id_or_name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(deal_from_row))
    }

    pub async fn deal_for_channel(&self, channel: &str) -> anyhow::Result<Option<Deal>> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM deals d JOIN channel_deals c ON c.deal_id = d.id WHERE c.channel = $1",
            DEAL_COLUMNS.split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ")
        ))
        .bind(channel)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(deal_from_row))
    }

    pub async fn deal_id_taken(&self, id: &str) -> anyhow::Result<bool> {
        Ok(sqlx::query("SELECT 1 FROM deals WHERE id = $1").bind(id).fetch_optional(&self.pool).await?.is_some())
    }

    pub async fn bind_channel(conn: &mut AnyConnection, channel: &str, deal_id: &str) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO channel_deals (channel, deal_id) VALUES ($1, $2) ON CONFLICT (channel) DO UPDATE SET deal_id = excluded.deal_id",
        )
        .bind(channel)
        .bind(deal_id)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Closes an open deal; false when it was not open any more.
    pub async fn close_deal(conn: &mut AnyConnection, id: &str, status: &str, pm: Option<&str>, at: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE deals SET status = $1, pm = COALESCE($2, pm), closed_at = $3 WHERE id = $4 AND status = 'open'")
            .bind(status)
            .bind(pm)
            .bind(at)
            .bind(id)
            .execute(conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_offer(&self, offer: &Offer) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO offers (id, kind, actor, channel, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(offer.id.clone())
            .bind(offer.kind.clone())
            .bind(offer.actor.clone())
            .bind(offer.channel.clone())
            .bind(offer.payload.to_string())
            .bind(offer.created_at.clone())
            .execute(&self.pool)
            .await
            .context("saving the offer")?;
        Ok(())
    }

    pub async fn offer(&self, id: &str) -> anyhow::Result<Option<Offer>> {
        let row = sqlx::query("SELECT id, kind, actor, channel, payload, created_at FROM offers WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| Offer {
            id: r.get(0),
            kind: r.get(1),
            actor: r.get(2),
            channel: r.get(3),
            payload: serde_json::from_str(&r.get::<String, _>(4)).unwrap_or(Value::Null),
            created_at: r.get(5),
        }))
    }

    pub async fn insert_commitment(conn: &mut AnyConnection, c: &Commitment) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO commitments (deal_id, kind, summary, details, source, approval_id, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(c.deal_id.clone())
        .bind(c.kind.clone())
        .bind(c.summary.clone())
        .bind(c.details.to_string())
        .bind(c.source.clone())
        .bind(c.approval_id.clone())
        .bind(c.created_by.clone())
        .bind(c.created_at.clone())
        .execute(conn)
        .await
        .context("recording the commitment")?;
        Ok(())
    }

    pub async fn commitments(&self, deal_id: &str) -> anyhow::Result<Vec<Commitment>> {
        let rows = sqlx::query(
            "SELECT id, deal_id, kind, summary, details, source, approval_id, created_by, created_at FROM commitments \
             WHERE deal_id = $1 ORDER BY id",
        )
        .bind(deal_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Commitment {
                id: r.get(0),
                deal_id: r.get(1),
                kind: r.get(2),
                summary: r.get(3),
                details: serde_json::from_str(&r.get::<String, _>(4)).unwrap_or(Value::Null),
                source: r.get(5),
                approval_id: r.get(6),
                created_by: r.get(7),
                created_at: r.get(8),
            })
            .collect())
    }

    /// Books a hold: tentative allocations tagged with the hold, one per (person, hours).
    pub async fn insert_hold(conn: &mut AnyConnection, hold: &Hold, bookings: &[(String, f64)]) -> anyhow::Result<()> {
        sqlx::query(&format!("INSERT INTO holds ({HOLD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(hold.id.clone())
            .bind(hold.deal_id.clone())
            .bind(hold.start_date.clone())
            .bind(hold.end_date.clone())
            .bind(hold.state.clone())
            .bind(hold.created_by.clone())
            .bind(hold.created_at.clone())
            .bind(hold.expires_at.clone())
            .execute(&mut *conn)
            .await
            .context("recording the hold")?;
        for (person, hours) in bookings {
            sqlx::query(
                "INSERT INTO allocations (person, project, start_date, end_date, hours_per_week, status, hold_id) \
                 VALUES ($1, $2, $3, $4, $5, 'tentative', $6)",
            )
            .bind(person.clone())
            .bind(format!("hold:{}", hold.id))
            .bind(hold.start_date.clone())
            .bind(hold.end_date.clone())
            .bind(*hours)
            .bind(hold.id.clone())
            .execute(&mut *conn)
            .await
            .context("booking the hold")?;
        }
        Ok(())
    }

    pub async fn holds_for_deal(&self, deal_id: &str) -> anyhow::Result<Vec<Hold>> {
        let rows = sqlx::query(&format!("SELECT {HOLD_COLUMNS} FROM holds WHERE deal_id = $1 ORDER BY created_at"))
            .bind(deal_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(hold_from_row).collect())
    }

    pub async fn expired_holds(&self, now: &str) -> anyhow::Result<Vec<Hold>> {
        let rows = sqlx::query(&format!("SELECT {HOLD_COLUMNS} FROM holds WHERE state = 'active' AND expires_at <= $1 ORDER BY id"))
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(hold_from_row).collect())
    }

    /// Releases an active hold (its allocations go); false when it was not active.
    pub async fn release_hold(conn: &mut AnyConnection, id: &str) -> anyhow::Result<bool> {
        let done =
            sqlx::query("UPDATE holds SET state = 'released' WHERE id = $1 AND state = 'active'").bind(id).execute(&mut *conn).await?;
        if done.rows_affected() == 1 {
            sqlx::query("DELETE FROM allocations WHERE hold_id = $1").bind(id).execute(&mut *conn).await?;
        }
        Ok(done.rows_affected() == 1)
    }

    /// A won deal's active holds become confirmed bookings.
    pub async fn confirm_holds(conn: &mut AnyConnection, deal_id: &str) -> anyhow::Result<u64> {
        sqlx::query(
            "UPDATE allocations SET status = 'confirmed' WHERE hold_id IN (SELECT id FROM holds WHERE deal_id = $1 AND state = 'active')",
        )
        .bind(deal_id)
        .execute(&mut *conn)
        .await?;
        let done = sqlx::query("UPDATE holds SET state = 'confirmed' WHERE deal_id = $1 AND state = 'active'")
            .bind(deal_id)
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected())
    }

    /// Releases every active hold of a deal (lost deals).
    pub async fn release_deal_holds(conn: &mut AnyConnection, deal_id: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM allocations WHERE hold_id IN (SELECT id FROM holds WHERE deal_id = $1 AND state = 'active')")
            .bind(deal_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("UPDATE holds SET state = 'released' WHERE deal_id = $1 AND state = 'active'")
            .bind(deal_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Forgets the event ids recorded before `before`: platforms retry and replay within
    /// minutes, so a day's memory is plenty. Returns how many were forgotten.
    pub async fn forget_events_before(&self, before: &str) -> anyhow::Result<u64> {
        let done = sqlx::query("DELETE FROM processed_events WHERE at < $1").bind(before).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    /// Records a platform event id; false when it was seen before (a retry).
    pub async fn first_delivery_of_event(&self, event_id: &str, at: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("INSERT INTO processed_events (event_id, at) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING")
            .bind(event_id)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
