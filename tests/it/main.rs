//! Integration tests: one test binary, modules per interface.

mod cli;
mod deals;
mod discord;
mod first_hour;
mod slack;
mod snapshots;
mod store;
mod support;
mod workflows;
