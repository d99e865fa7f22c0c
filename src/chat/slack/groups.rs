//! Slack user-group membership for the approver and presales checks: `usergroups.users.list`,
//! cached briefly so a burst of clicks costs one call. When Slack cannot be asked, the user is
//! treated as not in the group (deny by default) and nothing is cached.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::web_api::WebApi;

/// How long a group's member list is trusted.
pub(crate) const CACHE_FOR: Duration = Duration::from_secs(60);

/// A group's members, shared between the cache and its readers.
type Members = Arc<HashSet<String>>;

pub(crate) struct GroupCache {
    api: WebApi,
    ttl: Duration,
    /// By group id: when the members were fetched, and who they were.
    members: Mutex<HashMap<String, (Instant, Members)>>,
}

impl GroupCache {
    pub fn new(api: WebApi, ttl: Duration) -> GroupCache {
        GroupCache { api, ttl, members: Mutex::new(HashMap::new()) }
    }

    /// The groups among `groups` that `user` is a member of.
    pub async fn groups_of(&self, user: &str, groups: &[&str]) -> Vec<String> {
        let mut found = Vec::new();
        for group in groups {
            if let Some(members) = self.members_of(group).await {
                if members.contains(user) {
                    found.push(group.to_string());
                }
            }
        }
        found
    }

    /// The members of `group`, from the cache or from Slack. The lock is held across the call so
    /// concurrent clicks wait for one answer instead of each asking Slack.
    async fn members_of(&self, group: &str) -> Option<Members> {
        let mut cache = self.members.lock().await;
        if let Some((fetched, members)) = cache.get(group) {
            if fetched.elapsed() < self.ttl {
                return Some(members.clone());
            }
        }
        // Boxed: the call's future is large, and most lookups find the group cached.
        match Box::pin(self.api.usergroup_members(group)).await {
            Ok(users) => {
                let members = Arc::new(users.into_iter().collect::<HashSet<_>>());
                cache.insert(group.to_string(), (Instant::now(), members.clone()));
                Some(members)
            }
            Err(error) => {
                tracing::warn!(group, error = ?error, "could not list the Slack user group; treating the user as not a member");
                None
            }
        }
    }
}
