//! Approvals, scoping tickets and handovers (SPEC 5.2–5.4) in the database. Every transition is
//! a conditional `UPDATE … WHERE state = …`, so the first valid click wins even across processes.

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::Store;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approval {
    pub id: String,
    pub kind: String,
    pub deal_id: Option<String>,
    pub package: String,
    pub requester: String,
    pub channel: String,
    pub requested_date: String,
    pub start_date: Option<String>,
    pub evidence: Value,
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
    pub message_id: Option<i64>,
    pub created_at: String,
    pub remind_at: Option<String>,
    pub escalate_at: Option<String>,
    pub expires_at: String,
}

const APPROVAL_COLUMNS: &str = "id, kind, deal_id, package, requester, channel, requested_date, start_date, evidence, state, \
    decided_by, decided_at, reason, message_id, created_at, remind_at, escalate_at, expires_at";

fn approval_from_row(r: &AnyRow) -> Approval {
    Approval {
        id: r.get(0),
        kind: r.get(1),
        deal_id: r.get(2),
        package: r.get(3),
        requester: r.get(4),
        channel: r.get(5),
        requested_date: r.get(6),
        start_date: r.get(7),
        evidence: serde_json::from_str(&r.get::<String, _>(8)).unwrap_or(Value::Null),
        state: r.get(9),
        decided_by: r.get(10),
        decided_at: r.get(11),
        reason: r.get(12),
        message_id: r.get(13),
        created_at: r.get(14),
        remind_at: r.get(15),
        escalate_at: r.get(16),
        expires_at: r.get(17),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ticket {
    pub id: String,
    pub deal_id: Option<String>,
    pub package: Option<String>,
    pub requester: String,
    pub channel: String,
    pub description: String,
    pub state: String,
    pub effort_hours: Option<f64>,
    pub price: Option<f64>,
    pub notes: Option<String>,
    pub reason: Option<String>,
    pub deliverable_id: Option<String>,
    pub handled_by: Option<String>,
    pub message_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

const TICKET_COLUMNS: &str = "id, deal_id, package, requester, channel, description, state, effort_hours, price, notes, reason, \
    deliverable_id, handled_by, message_id, created_at, updated_at";

fn ticket_from_row(r: &AnyRow) -> Ticket {
    Ticket {
        id: r.get(0),
        deal_id: r.get(1),
        package: r.get(2),
        requester: r.get(3),
        channel: r.get(4),
        description: r.get(5),
        state: r.get(6),
        effort_hours: r.get(7),
        price: r.get(8),
        notes: r.get(9),
        reason: r.get(10),
        deliverable_id: r.get(11),
        handled_by: r.get(12),
        message_id: r.get(13),
        created_at: r.get(14),
        updated_at: r.get(15),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handover {
    pub id: String,
    pub deal_id: String,
    pub pm: String,
    pub state: String,
    pub message_id: Option<i64>,
    pub created_at: String,
    pub remind_at: Option<String>,
    pub acknowledged_at: Option<String>,
}

const HANDOVER_COLUMNS: &str = "id, deal_id, pm, state, message_id, created_at, remind_at, acknowledged_at";

fn handover_from_row(r: &AnyRow) -> Handover {
    Handover {
        id: r.get(0),
        deal_id: r.get(1),
        pm: r.get(2),
        state: r.get(3),
        message_id: r.get(4),
        created_at: r.get(5),
        remind_at: r.get(6),
        acknowledged_at: r.get(7),
    }
}

/// A ticket transition's new values.
#[derive(Debug, Clone, Default)]
pub struct TicketChange {
    pub effort_hours: Option<f64>,
    pub price: Option<f64>,
    pub notes: Option<String>,
    pub reason: Option<String>,
}

impl Store {
    pub async fn insert_approval(conn: &mut AnyConnection, a: &Approval) -> anyhow::Result<()> {
        sqlx::query(&format!(
            "INSERT INTO approvals ({APPROVAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        ))
        .bind(a.id.clone())
        .bind(a.kind.clone())
        .bind(a.deal_id.clone())
        .bind(a.package.clone())
        .bind(a.requester.clone())
        .bind(a.channel.clone())
        .bind(a.requested_date.clone())
        .bind(a.start_date.clone())
        .bind(a.evidence.to_string())
        .bind(a.state.clone())
        .bind(a.decided_by.clone())
        .bind(a.decided_at.clone())
        .bind(a.reason.clone())
        .bind(a.message_id)
        .bind(a.created_at.clone())
        .bind(a.remind_at.clone())
        .bind(a.escalate_at.clone())
        .bind(a.expires_at.clone())
        .execute(conn)
        .await
        .context("recording the approval request")?;
        Ok(())
    }

    pub async fn approval(&self, id: &str) -> anyhow::Result<Option<Approval>> {
        let row =
            sqlx::query(&format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(approval_from_row))
    }

    pub async fn approval_in(conn: &mut AnyConnection, id: &str) -> anyhow::Result<Option<Approval>> {
        let row = sqlx::query(&format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = $1")).bind(id).fetch_optional(conn).await?;
        Ok(row.as_ref().map(approval_from_row))
    }

    /// Decides a pending approval; false when someone else decided first. Run it as the first
    /// statement of its transaction so SQLite takes the write lock before reading.
    pub async fn decide_approval(
        conn: &mut AnyConnection,
        id: &str,
        state: &str,
        by: &str,
        at: &str,
        reason: Option<&str>,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE approvals SET state = $1, decided_by = $2, decided_at = $3, reason = $4 WHERE id = $5 AND state = 'pending'",
        )
        .bind(state)
        .bind(by)
        .bind(at)
        .bind(reason)
        .bind(id)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_approval_message(conn: &mut AnyConnection, id: &str, message_id: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE approvals SET message_id = $1 WHERE id = $2").bind(message_id).bind(id).execute(conn).await?;
        Ok(())
    }

    /// Pending approvals whose `column` (remind_at / escalate_at / expires_at) is due.
    pub async fn approvals_due(&self, column: &str, now: &str) -> anyhow::Result<Vec<Approval>> {
        anyhow::ensure!(["remind_at", "escalate_at", "expires_at"].contains(&column), "bad column");
        let rows = sqlx::query(&format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE state = 'pending' AND {column} IS NOT NULL AND {column} <= $1 ORDER BY id"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(approval_from_row).collect())
    }

    /// Clears a due reminder or escalation so it happens once; false when another worker did.
    pub async fn clear_approval_timer(conn: &mut AnyConnection, id: &str, column: &str) -> anyhow::Result<bool> {
        anyhow::ensure!(["remind_at", "escalate_at"].contains(&column), "bad column");
        let done =
            sqlx::query(&format!("UPDATE approvals SET {column} = NULL WHERE id = $1 AND {column} IS NOT NULL AND state = 'pending'"))
                .bind(id)
                .execute(conn)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_ticket(conn: &mut AnyConnection, t: &Ticket) -> anyhow::Result<()> {
        sqlx::query(&format!(
            "INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        ))
        .bind(t.id.clone())
        .bind(t.deal_id.clone())
        .bind(t.package.clone())
        .bind(t.requester.clone())
        .bind(t.channel.clone())
        .bind(t.description.clone())
        .bind(t.state.clone())
        .bind(t.effort_hours)
        .bind(t.price)
        .bind(t.notes.clone())
        .bind(t.reason.clone())
        .bind(t.deliverable_id.clone())
        .bind(t.handled_by.clone())
        .bind(t.message_id)
        .bind(t.created_at.clone())
        .bind(t.updated_at.clone())
        .execute(conn)
        .await
        .context("opening the ticket")?;
        Ok(())
    }

    pub async fn ticket(&self, id: &str) -> anyhow::Result<Option<Ticket>> {
        let row = sqlx::query(&format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(ticket_from_row))
    }

    pub async fn ticket_in(conn: &mut AnyConnection, id: &str) -> anyhow::Result<Option<Ticket>> {
        let row = sqlx::query(&format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1")).bind(id).fetch_optional(conn).await?;
        Ok(row.as_ref().map(ticket_from_row))
    }

    pub async fn tickets_for_deal(&self, deal_id: &str) -> anyhow::Result<Vec<Ticket>> {
        let rows = sqlx::query(&format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE deal_id = $1 ORDER BY created_at, id"))
            .bind(deal_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(ticket_from_row).collect())
    }

    /// Moves a ticket from `from` to `to`; false when it was no longer in `from`.
    pub async fn move_ticket(
        conn: &mut AnyConnection,
        id: &str,
        from: &str,
        to: &str,
        by: &str,
        at: &str,
        change: &TicketChange,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE tickets SET state = $1, handled_by = $2, updated_at = $3, effort_hours = COALESCE($4, effort_hours), \
             price = COALESCE($5, price), notes = COALESCE($6, notes), reason = COALESCE($7, reason) WHERE id = $8 AND state = $9",
        )
        .bind(to)
        .bind(by)
        .bind(at)
        .bind(change.effort_hours)
        .bind(change.price)
        .bind(change.notes.clone())
        .bind(change.reason.clone())
        .bind(id)
        .bind(from)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Links a scoped ticket to the deliverable made from it; false when already linked.
    pub async fn link_ticket_deliverable(conn: &mut AnyConnection, id: &str, deliverable: &str, at: &str) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE tickets SET deliverable_id = $1, updated_at = $2 WHERE id = $3 AND state = 'scoped' AND deliverable_id IS NULL",
        )
        .bind(deliverable)
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_ticket_message(conn: &mut AnyConnection, id: &str, message_id: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE tickets SET message_id = $1 WHERE id = $2").bind(message_id).bind(id).execute(conn).await?;
        Ok(())
    }

    pub async fn insert_handover(conn: &mut AnyConnection, h: &Handover) -> anyhow::Result<()> {
        sqlx::query(&format!("INSERT INTO handovers ({HANDOVER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(h.id.clone())
            .bind(h.deal_id.clone())
            .bind(h.pm.clone())
            .bind(h.state.clone())
            .bind(h.message_id)
            .bind(h.created_at.clone())
            .bind(h.remind_at.clone())
            .bind(h.acknowledged_at.clone())
            .execute(conn)
            .await
            .context("recording the handover")?;
        Ok(())
    }

    pub async fn handover(&self, id: &str) -> anyhow::Result<Option<Handover>> {
        let row =
            sqlx::query(&format!("SELECT {HANDOVER_COLUMNS} FROM handovers WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(handover_from_row))
    }

    pub async fn set_handover_message(conn: &mut AnyConnection, id: &str, message_id: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE handovers SET message_id = $1 WHERE id = $2").bind(message_id).bind(id).execute(conn).await?;
        Ok(())
    }

    /// Acknowledges a sent handover; false when it already was.
    pub async fn acknowledge_handover(conn: &mut AnyConnection, id: &str, at: &str) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE handovers SET state = 'acknowledged', acknowledged_at = $1, remind_at = NULL WHERE id = $2 AND state = 'sent'",
        )
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn handovers_to_remind(&self, now: &str) -> anyhow::Result<Vec<Handover>> {
        let rows = sqlx::query(&format!(
            "SELECT {HANDOVER_COLUMNS} FROM handovers WHERE state = 'sent' AND remind_at IS NOT NULL AND remind_at <= $1 ORDER BY id"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(handover_from_row).collect())
    }

    /// Moves a handover's reminder to `next`; false when another worker already did.
    pub async fn reschedule_handover_reminder(conn: &mut AnyConnection, id: &str, due: &str, next: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE handovers SET remind_at = $1 WHERE id = $2 AND remind_at = $3 AND state = 'sent'")
            .bind(next)
            .bind(id)
            .bind(due)
            .execute(conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
