//! Reading typed values out of rows: dates, timestamps, states and JSON are stored as text and
//! decoded here with `try_get`, failing loudly on anything that does not decode.

use std::fmt::Display;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::Row;

fn corrupt(column: &str, error: impl Display) -> sqlx::Error {
    sqlx::Error::ColumnDecode { index: column.to_string(), source: error.to_string().into() }
}

pub(super) fn text(row: &AnyRow, column: &str) -> Result<String, sqlx::Error> {
    row.try_get(column)
}

pub(super) fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>, sqlx::Error> {
    row.try_get(column)
}

/// A value stored as its text spelling (a state, a kind, a date).
pub(super) fn parsed<T: FromStr>(row: &AnyRow, column: &str) -> Result<T, sqlx::Error>
where
    T::Err: Display,
{
    let value = text(row, column)?;
    value.parse().map_err(|e| corrupt(column, format!("'{value}': {e}")))
}

pub(super) fn opt_parsed<T: FromStr>(row: &AnyRow, column: &str) -> Result<Option<T>, sqlx::Error>
where
    T::Err: Display,
{
    opt_text(row, column)?
        .map(|value| value.parse().map_err(|e| corrupt(column, format!("'{value}': {e}"))))
        .transpose()
}

pub(super) fn date(row: &AnyRow, column: &str) -> Result<NaiveDate, sqlx::Error> {
    parsed(row, column)
}

pub(super) fn opt_date(row: &AnyRow, column: &str) -> Result<Option<NaiveDate>, sqlx::Error> {
    opt_parsed(row, column)
}

pub(super) fn time(row: &AnyRow, column: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    parsed(row, column)
}

pub(super) fn opt_time(row: &AnyRow, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    opt_parsed(row, column)
}

/// A JSON column decoded into its type.
pub(super) fn json<T: DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T, sqlx::Error> {
    let value = text(row, column)?;
    serde_json::from_str(&value).map_err(|e| corrupt(column, e))
}

/// The stored form of a timestamp: UTC `YYYY-MM-DDTHH:MM:SSZ`, which sorts as text.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
