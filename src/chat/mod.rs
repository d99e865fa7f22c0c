//! Chat adapters: each only translates platform events into `(Actor, command or action)` and
//! `Reply`s into platform messages.

pub mod console;
