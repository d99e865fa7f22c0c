//! Integration tests: one test binary, modules per interface.

mod backtest;
mod cli;
mod console;
mod deals;
mod digest;
mod discord;
mod first_hour;
mod readme;
mod signals;
mod slack;
mod snapshots;
mod store;
mod support;
mod workflows;
