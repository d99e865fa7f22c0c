//! Replies made from engines' answers, remembered by answer. A reply is a function of its kind,
//! its answer and the extra keys its template is given (`App::answer_with`), so the key is those
//! three as JSON, compared whole: two answers share a reply only when they are the same answer.
//! The answer carries everything its reply shows (the dates, the data's age, the question), so
//! nothing here can outlive the data it was made from: new data make a new answer, and a new key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::reply::Reply;

/// At most this many replies are remembered; past it they are forgotten and made again.
const KEPT: usize = 512;

/// An answer as its reply is remembered: `kind`, the answer and the extra keys, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key(Vec<u8>);

impl Key {
    pub(crate) fn of(
        kind: &str,
        answer: &impl Serialize,
        extra: &serde_json::Value,
    ) -> serde_json::Result<Key> {
        let mut key = Vec::with_capacity(512);
        // A kind is a template's name and never holds a NUL; JSON never holds a raw one.
        key.extend_from_slice(kind.as_bytes());
        key.push(0);
        serde_json::to_writer(&mut key, answer)?;
        key.push(0);
        serde_json::to_writer(&mut key, extra)?;
        Ok(Key(key))
    }
}

/// The replies remembered (keys hashed with foldhash: a key is compared whole).
type Kept = HashMap<Key, Arc<Reply>, foldhash::fast::RandomState>;

/// The replies remembered.
#[derive(Default)]
pub(crate) struct Answered {
    kept: Mutex<Kept>,
}

impl Answered {
    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The reply made before from the answer `key`: a copy, whose JSON fields are shared.
    pub(crate) fn get(&self, key: &Key) -> Option<Reply> {
        let reply = self.kept().get(key).cloned()?;
        Some((*reply).clone())
    }

    /// Remembers `reply`, made from the answer `key`.
    pub(crate) fn put(&self, key: Key, reply: &Reply) {
        let reply = Arc::new(reply.clone());
        let mut kept = self.kept();
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(key, reply);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_reply_is_given_again_only_for_the_same_kind_answer_and_extra_keys() {
        let answered = Answered::default();
        let key = |kind: &str, answer: serde_json::Value, extra: serde_json::Value| {
            Key::of(kind, &answer, &extra).unwrap()
        };
        let reply = Reply::new("earliest_start").with_text("Earliest start Mon 4 Jan\nbody");
        let first = key("earliest_start", json!({"weeks": 6}), json!(null));
        assert!(answered.get(&first).is_none());
        answered.put(first.clone(), &reply);
        assert_eq!(answered.get(&first), Some(reply.clone()));
        // Another answer, another template, other extra keys: not the same reply.
        assert!(answered.get(&key("earliest_start", json!({"weeks": 7}), json!(null))).is_none());
        assert!(answered.get(&key("staffing", json!({"weeks": 6}), json!(null))).is_none());
        assert!(answered
            .get(&key("earliest_start", json!({"weeks": 6}), json!({"quiet": [1]})))
            .is_none());
        // A kind and an answer cannot run into each other.
        assert_ne!(key("a", json!("b"), json!(null)), key("a\"", json!("b"), json!(null)));
    }

    #[test]
    fn a_changed_copy_leaves_the_remembered_reply_as_it_was() {
        let answered = Answered::default();
        let key = Key::of("help", &json!({}), &json!(null)).unwrap();
        answered.put(key.clone(), &Reply::new("help").set("n", 1));
        let mut copy = answered.get(&key).unwrap().set("n", 2);
        copy.context.push("more".into());
        let again = answered.get(&key).unwrap();
        assert_eq!(again.data["n"], 1);
        assert!(again.context.is_empty());
    }

    #[test]
    fn it_forgets_rather_than_grows() {
        let answered = Answered::default();
        for n in 0..(KEPT + 10) {
            let key = Key::of("help", &json!({ "n": n }), &json!(null)).unwrap();
            answered.put(key, &Reply::new("help"));
        }
        assert!(answered.kept().len() <= KEPT);
    }
}
