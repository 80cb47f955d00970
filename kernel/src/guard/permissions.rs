//! Topic permissions: ordered `{topic_prefix, action}` rules, first match wins. No rules allows
//! everything; with any rule, a topic no rule matches is denied. Admin never reaches this check.

use aether_shared::Topic;

use crate::config::{Action, PermissionRule};

/// The compiled rule list.
pub struct Permissions {
    rules: Vec<PermissionRule>,
}

impl Permissions {
    pub fn new(rules: Vec<PermissionRule>) -> Permissions {
        Permissions { rules }
    }

    /// True when a non-admin client may send `topic`.
    pub fn allows(&self, topic: &Topic) -> bool {
        if self.rules.is_empty() {
            return true;
        }
        self.rules
            .iter()
            .find(|rule| rule.topic_prefix.matches(topic))
            .is_some_and(|rule| rule.action == Action::Allow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TopicPrefix;

    fn rule(prefix: &str, action: Action) -> PermissionRule {
        PermissionRule {
            topic_prefix: TopicPrefix::parse(prefix).unwrap(),
            action,
        }
    }

    fn t(s: &str) -> Topic {
        Topic::parse(s).unwrap()
    }

    #[test]
    fn no_rules_allow_everything() {
        assert!(Permissions::new(vec![]).allows(&t("vm.spawn")));
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let p = Permissions::new(vec![
            rule("vm.kill", Action::Deny),
            rule("vm.", Action::Allow),
        ]);
        assert!(!p.allows(&t("vm.kill")));
        assert!(p.allows(&t("vm.spawn")));
        let reversed = Permissions::new(vec![
            rule("vm.", Action::Allow),
            rule("vm.kill", Action::Deny),
        ]);
        assert!(reversed.allows(&t("vm.kill")));
    }

    #[test]
    fn with_any_rule_an_unmatched_topic_is_denied() {
        let p = Permissions::new(vec![rule("kernel.", Action::Allow)]);
        assert!(p.allows(&t("kernel.ping")));
        assert!(!p.allows(&t("ai.chat")));
    }
}
