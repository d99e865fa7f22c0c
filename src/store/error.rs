//! What the store can fail with. The app maps a conflict to a message the person can act on,
//! and everything else to an internal error (logged, never shown).

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} '{id}' does not exist")]
    NotFound { what: &'static str, id: String },
    /// A unique or foreign-key constraint refused the write: someone else got there first.
    #[error("the write conflicts with {constraint}")]
    Conflict { constraint: String },
    /// A stored value that does not decode: corruption is reported, never guessed around.
    #[error("a stored row does not decode: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A failure met outside sqlx: the version check's own SQLite connection, or a grouped
    /// write that could not be made (`batch.rs`, every row of the group gets it).
    #[error("database error: {0}")]
    Failed(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::Database(db) if is_conflict(db.kind()) => {
                let constraint = db
                    .constraint()
                    .map(String::from)
                    .unwrap_or_else(|| sqlite_constraint(db.message()));
                StoreError::Conflict { constraint }
            }
            sqlx::Error::ColumnDecode { index, source } => {
                StoreError::Corrupt(format!("column {index}: {source}"))
            }
            sqlx::Error::Decode(source) => StoreError::Corrupt(source.to_string()),
            other => StoreError::Database(other),
        }
    }
}

fn is_conflict(kind: sqlx::error::ErrorKind) -> bool {
    matches!(
        kind,
        sqlx::error::ErrorKind::UniqueViolation | sqlx::error::ErrorKind::ForeignKeyViolation
    )
}

/// SQLite names no constraint, only its columns: `UNIQUE constraint failed: deals.id` becomes
/// `deals.id`.
fn sqlite_constraint(message: &str) -> String {
    message
        .rsplit_once(": ")
        .map(|(_, columns)| columns.to_string())
        .unwrap_or_else(|| message.to_string())
}

impl StoreError {
    /// Whether this is a conflict on the table or constraint named `name` (`deals`, `deals_pkey`).
    pub fn is_conflict_on(&self, name: &str) -> bool {
        matches!(self, StoreError::Conflict { constraint } if constraint.starts_with(name))
    }
}
