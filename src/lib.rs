//! Keepable: a chat bot that lets a services firm's sellers promise only what delivery can keep.
//!
//! How a request flows:
//! - `chat` (Slack, Discord, console) turns a platform event into an `app::Actor` and command text
//!   or an action id, and renders the `app::reply::Reply` it gets back;
//! - `app` parses the command, runs it against the `store` and the pure rules in `domain`, and
//!   writes any outbound messages to the outbox in the same transaction as the state change;
//! - `app::delivery` drains the outbox through a platform's `Deliver` implementation;
//! - `import` reads and checks the firm's CSV files, which `store` then writes in one transaction;
//! - `server` hosts the HTTP endpoints and the background workers; `config` holds the settings.

pub mod app;
pub mod chart;
pub mod chat;
pub mod config;
pub mod domain;
pub mod import;
pub mod metrics;
pub mod server;
pub mod store;
