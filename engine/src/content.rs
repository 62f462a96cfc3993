//! Validation and normalisation of what people type: message content, names, logins.

use crate::error::{Error, Result};

/// Longest message, in characters, after trimming.
pub const MAX_CONTENT_CHARS: usize = 10_000;

/// Normalises message content: CRLF and lone CR become LF, surrounding white space is
/// trimmed. Rejects empty or over-long content and control characters other than `\n`, `\t`.
pub fn normalize_content(raw: &str) -> Result<String> {
    let unified = raw.replace("\r\n", "\n").replace('\r', "\n");
    let trimmed = unified.trim();
    if trimmed.is_empty() {
        return Err(Error::validation("content", "is empty"));
    }
    let chars = trimmed.chars().count();
    if chars > MAX_CONTENT_CHARS {
        return Err(Error::validation(
            "content",
            format!("has {chars} characters; at most {MAX_CONTENT_CHARS} are allowed"),
        ));
    }
    if let Some(c) = trimmed
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        return Err(Error::validation(
            "content",
            format!("contains control character U+{:04X}", c as u32),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Checks a display name: 1..=100 characters after trimming, no control characters.
pub fn normalize_name(field: &'static str, raw: &str) -> Result<String> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > 100 {
        return Err(Error::validation(field, "must have 1 to 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::validation(field, "contains a control character"));
    }
    Ok(name.to_owned())
}

/// Checks a login: 1..=64 characters, no white space or control characters.
pub fn check_login(login: &str) -> Result<()> {
    let chars = login.chars().count();
    if chars == 0 || chars > 64 {
        return Err(Error::validation("login", "must have 1 to 64 characters"));
    }
    if login.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::validation(
            "login",
            "must not contain spaces or control characters",
        ));
    }
    Ok(())
}

/// True when `content` names `name` as `@name` (case-insensitive), ending at a character
/// that cannot continue a name.
pub fn mentions_name(content: &str, name: &str) -> bool {
    let content = content.to_lowercase();
    let needle = format!("@{}", name.to_lowercase());
    content.match_indices(&needle).any(|(at, m)| {
        content[at + m.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric() && c != '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_trimmed_and_line_endings_unified() {
        assert_eq!(normalize_content("  a\r\nb\rc\t \n").unwrap(), "a\nb\nc");
    }

    #[test]
    fn bad_content_is_refused_with_the_field() {
        for bad in ["", "   \n\t", "a\u{0}b", "bell\u{7}", "esc\u{1b}[0m"] {
            match normalize_content(bad) {
                Err(Error::Validation { field, .. }) => assert_eq!(field, "content"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        let long = "é".repeat(MAX_CONTENT_CHARS + 1);
        assert!(normalize_content(&long).is_err());
        assert!(normalize_content(&"é".repeat(MAX_CONTENT_CHARS)).is_ok());
    }

    #[test]
    fn mentions_need_a_name_boundary() {
        assert!(mentions_name("hi @Ann!", "ann"));
        assert!(mentions_name("@Jason Fried, look", "Jason Fried"));
        assert!(!mentions_name("hi @Annabel", "Ann"));
        assert!(!mentions_name("hi Ann", "Ann"));
    }

    #[test]
    fn logins_without_spaces() {
        assert!(check_login("ann").is_ok());
        assert!(check_login("a b").is_err());
        assert!(check_login("").is_err());
    }
}
