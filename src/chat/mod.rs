//! Chat adapters: each only translates platform events into `(Actor, command or action)` and
//! `Reply`s into platform messages. No SQL and no business rule lives here.

pub mod console;
pub mod discord;
pub(crate) mod replay;
pub mod slack;
