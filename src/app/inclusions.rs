//! `/included` answers for deliverables the library holds, remembered with their replies while
//! the library is the one held. A seller asks about the same deliverables of the same packages
//! all day; each asking otherwise finds the deliverable again, works out its verdict and
//! dependencies, copies its texts into an answer and writes the answer out as JSON to find the
//! reply made before. An answer is remembered by everything it is made of besides the library:
//! the item as asked, the package (id and name), the deal whose package it is, and whether the
//! reply explains how to add it to a deal (no deal in the channel). A question is looked up
//! without copying any of it. The buttons of an answer in a deal's channel are offered anew at
//! each asking (an offer is per press), never remembered.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, Weak};

use super::answers::InclusionAnswer;
use super::reply::Reply;
use crate::domain::library::Library;

/// How many answers are remembered; past it they are forgotten and worked out again.
const KEPT: usize = 512;

/// Items asked in more words than this are answered every time, never remembered (an item is
/// found by its normalised name, so a long one can still be a deliverable's).
const LONGEST_ITEM: usize = 256;

/// An inclusion question, borrowed from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Question<'a> {
    /// The item as asked (the answer repeats it).
    pub(crate) item: &'a str,
    /// The package's id and name.
    pub(crate) package: Option<(&'a str, &'a str)>,
    /// The deal whose package was used.
    pub(crate) deal: Option<&'a str>,
    /// The reply explains how to add the item to a deal (no deal to add it to).
    pub(crate) explained: bool,
}

/// A remembered answer: its question (owned), the library it came from, the answer and reply.
struct Kept {
    item: String,
    package: Option<(String, String)>,
    deal: Option<String>,
    explained: bool,
    library: Weak<Library>,
    answer: Arc<InclusionAnswer>,
    reply: Arc<Reply>,
}

impl Kept {
    fn answers(&self, question: &Question, library: &Arc<Library>) -> bool {
        self.item == question.item
            && self.package.as_ref().map(|(id, name)| (id.as_str(), name.as_str()))
                == question.package
            && self.deal.as_deref() == question.deal
            && self.explained == question.explained
            && std::ptr::eq(self.library.as_ptr(), Arc::as_ptr(library))
            && self.library.strong_count() > 0
    }
}

/// The answers remembered, by the hash of their question.
#[derive(Default)]
pub(crate) struct InclusionAnswers {
    hasher: foldhash::fast::RandomState,
    kept: Mutex<HashMap<u64, Vec<Kept>>>,
}

impl InclusionAnswers {
    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<Kept>>> {
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The answer and reply worked out before for `question` from `library`.
    pub(crate) fn get(
        &self,
        question: &Question,
        library: &Arc<Library>,
    ) -> Option<(Arc<InclusionAnswer>, Reply)> {
        let hash = self.hasher.hash_one(question);
        let (answer, reply) = {
            let kept = self.kept();
            let found = kept.get(&hash)?.iter().find(|kept| kept.answers(question, library))?;
            (found.answer.clone(), found.reply.clone())
        };
        // Copied once the lock is given back.
        Some((answer, Reply::clone(&reply)))
    }

    /// Remembers `answer` and its `reply` to `question`, worked out from `library`.
    pub(crate) fn put(
        &self,
        question: &Question,
        library: &Arc<Library>,
        answer: Arc<InclusionAnswer>,
        reply: &Reply,
    ) {
        if question.item.len() > LONGEST_ITEM {
            return;
        }
        let hash = self.hasher.hash_one(question);
        let remembered = Kept {
            item: question.item.to_string(),
            package: question.package.map(|(id, name)| (id.to_string(), name.to_string())),
            deal: question.deal.map(str::to_string),
            explained: question.explained,
            library: Arc::downgrade(library),
            answer,
            reply: Arc::new(reply.clone()),
        };
        let mut kept = self.kept();
        if kept.values().map(Vec::len).sum::<usize>() >= KEPT {
            kept.clear();
        }
        let same = kept.entry(hash).or_default();
        same.retain(|kept| !kept.answers(question, library) && kept.library.strong_count() > 0);
        same.push(remembered);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::library::Verdict;

    fn answer(query: &str) -> Arc<InclusionAnswer> {
        Arc::new(InclusionAnswer {
            verdict: Verdict::Included,
            deliverable: Some("d1".into()),
            name: Some("SSO".into()),
            description: None,
            package: Some("crm".into()),
            package_name: Some("CRM".into()),
            price: Some(0.0),
            effort_hours: Some(4.0),
            separately_priced: Some(false),
            depends_on: Vec::new(),
            query: query.into(),
            suggestions: Vec::new(),
            deal_name: None,
        })
    }

    fn library() -> Arc<Library> {
        Arc::new(Library::new(Vec::new(), Vec::new()))
    }

    #[test]
    fn an_answer_is_given_again_only_for_the_same_question_and_library() {
        let answers = InclusionAnswers::default();
        let library = library();
        let question =
            Question { item: "sso", package: Some(("crm", "CRM")), deal: None, explained: true };
        assert!(answers.get(&question, &library).is_none());
        let reply = Reply::new("inclusion").with_text("Yes: SSO is included in CRM.");
        answers.put(&question, &library, answer("sso"), &reply);
        let (given, again) = answers.get(&question, &library).expect("remembered");
        assert_eq!(given.query, "sso");
        assert_eq!((&again.headline, &again.body), (&reply.headline, &reply.body));

        // Any part of the question changed is another question.
        let others = [
            Question { item: "SSO", ..question },
            Question { package: Some(("crm", "CRM Rollout")), ..question },
            Question { package: Some(("erp", "CRM")), ..question },
            Question { package: None, ..question },
            Question { deal: Some("Acme"), ..question },
            Question { explained: false, ..question },
        ];
        for other in others {
            assert!(answers.get(&other, &library).is_none(), "{other:?}");
        }
        // Another library (an import) is other data, even with the same contents.
        assert!(answers.get(&question, &self::library()).is_none());
    }

    #[test]
    fn a_library_no_longer_held_answers_nothing_and_is_not_kept() {
        let answers = InclusionAnswers::default();
        let question = Question { item: "sso", package: None, deal: None, explained: true };
        let old = library();
        answers.put(&question, &old, answer("sso"), &Reply::new("inclusion"));
        drop(old);
        // A new library could be given the old one's address: the old answer is not its own.
        let new = library();
        assert!(answers.get(&question, &new).is_none());
        answers.put(&question, &new, answer("sso"), &Reply::new("inclusion"));
        let kept = answers.kept();
        assert_eq!(kept.values().map(Vec::len).sum::<usize>(), 1, "the old answer is dropped");
    }

    #[test]
    fn a_long_item_is_not_remembered() {
        let answers = InclusionAnswers::default();
        let library = library();
        let long = format!("sso{}", "!".repeat(LONGEST_ITEM));
        let question = Question { item: &long, package: None, deal: None, explained: true };
        answers.put(&question, &library, answer(&long), &Reply::new("inclusion"));
        assert!(answers.get(&question, &library).is_none());
    }

    #[test]
    fn at_most_kept_answers_are_remembered() {
        let answers = InclusionAnswers::default();
        let library = library();
        let items: Vec<String> = (0..=KEPT).map(|n| format!("item {n}")).collect();
        for item in &items {
            let question = Question { item, package: None, deal: None, explained: true };
            answers.put(&question, &library, answer(item), &Reply::new("inclusion"));
        }
        let kept = answers.kept().values().map(Vec::len).sum::<usize>();
        assert!(kept <= KEPT, "{kept}");
        let last = Question { item: &items[KEPT], package: None, deal: None, explained: true };
        assert!(answers.get(&last, &library).is_some(), "the newest is kept");
    }
}
