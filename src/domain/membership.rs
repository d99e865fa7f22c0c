//! Who belongs to a configured set of people (approvers, presales): a list of user ids and/or a
//! group (a Slack user group, a Discord role). Membership comes from configuration and from what
//! the platform says about the actor, never from the request's own text. Deny by default.

/// A configured set of people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    pub users: Vec<String>,
    pub group: Option<String>,
}

impl Membership {
    pub fn new(users: &[String], group: Option<&str>) -> Self {
        Membership {
            users: users.to_vec(),
            group: group.filter(|g| !g.is_empty()).map(String::from),
        }
    }

    /// Whether `user`, in the platform `groups` given, belongs.
    pub fn contains(&self, user: &str, groups: &[String]) -> bool {
        self.users.iter().any(|m| m == user)
            || self.group.as_ref().is_some_and(|g| groups.iter().any(|x| x == g))
    }

    /// Whether nobody at all can belong (nothing configured).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.group.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_user_or_a_group_member_belongs() {
        let approvers = Membership::new(&["U1".into()], Some("S-LEADS"));
        assert!(approvers.contains("U1", &[]));
        assert!(approvers.contains("U9", &["S-LEADS".into()]));
        assert!(!approvers.contains("U9", &["S-OTHER".into()]));
    }

    #[test]
    fn nobody_belongs_when_nothing_is_configured() {
        let nobody = Membership::new(&[], Some(""));
        assert!(nobody.is_empty());
        assert!(!nobody.contains("U1", &["".into()]));
    }
}
