//! Integration tests: one test binary, modules per interface.

mod cli;
mod deals;
mod discord;
mod slack;
mod store;
mod support;
mod workflows;
