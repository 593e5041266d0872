//! What a payload did wrong: where, and which rule it broke.

use std::fmt;

/// Longest rule text kept; longer texts (a huge value echoed back) are cut.
pub const MAX_RULE_CHARS: usize = 240;

/// A payload that does not satisfy its model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where in the payload, as a JSON pointer (`""` for the whole payload).
    pub pointer: String,
    /// The rule that failed, in words, at most [`MAX_RULE_CHARS`] characters.
    pub rule: String,
}

impl Violation {
    /// A violation at `pointer`; the rule is cut to [`MAX_RULE_CHARS`].
    pub fn at(pointer: impl Into<String>, rule: impl Into<String>) -> Self {
        let mut rule = rule.into();
        if let Some((cut, _)) = rule.char_indices().nth(MAX_RULE_CHARS) {
            rule.truncate(cut);
            rule.push('…');
        }
        Self {
            pointer: pointer.into(),
            rule,
        }
    }

    /// A violation of the whole payload.
    pub fn whole(rule: impl Into<String>) -> Self {
        Self::at("", rule)
    }

    /// The same violation one level down, under `token` (a field name or an index).
    pub fn under(mut self, token: &str) -> Self {
        self.pointer = format!("/{}{}", escape(token), self.pointer);
        self
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            f.write_str(&self.rule)
        } else {
            write!(f, "{}: {}", self.pointer, self.rule)
        }
    }
}

/// One JSON pointer token (`~` and `/` escaped).
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_builds_a_pointer_from_the_inside_out() {
        let violation = Violation::at("", "expected a string")
            .under("a/b")
            .under("0");
        assert_eq!(violation.pointer, "/0/a~1b");
        assert_eq!(violation.to_string(), "/0/a~1b: expected a string");
    }

    #[test]
    fn long_rules_are_cut() {
        let violation = Violation::whole("x".repeat(10_000));
        assert_eq!(violation.rule.chars().count(), MAX_RULE_CHARS + 1);
    }
}
