//! Pure rules: no I/O, no database, no platform types.
//!
//! The answer engines (calendar, capacity, comparables, library) and the workflow state machines
//! (approvals, tickets, handovers) live here and are tested on their own.

pub mod approval;
pub mod calendar;
pub mod capacity;
pub mod comparables;
pub mod firm;
pub mod hours;
pub mod library;
pub mod ticket;
