//! Content validation and normalisation: never a panic, and whatever is accepted is valid
//! by the same rules (normalising it again changes nothing, limits hold).

use crate::MAX_CONTENT_CHARS;
use crate::content::{check_login, mentions_name, normalize_content, normalize_name};
use crate::error::Error;

/// Runs every validator over `data` (as lossy UTF-8, and split in two for the two-argument
/// ones) and checks what they accept.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_content(&text);
    check_name(&text);
    check_login_rules(&text);
    let cut = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    let (content, name) = data.split_at(cut);
    let _ = mentions_name(
        &String::from_utf8_lossy(content),
        &String::from_utf8_lossy(name),
    );
}

fn check_content(raw: &str) {
    match normalize_content(raw) {
        Ok(out) => {
            assert!(!out.is_empty(), "accepted content is empty");
            assert_eq!(out, out.trim(), "accepted content is not trimmed");
            assert!(
                out.chars().count() <= MAX_CONTENT_CHARS,
                "accepted content has {} characters",
                out.chars().count()
            );
            assert!(!out.contains('\r'), "accepted content keeps a CR");
            assert!(
                !out.chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t'),
                "accepted content keeps a control character: {out:?}"
            );
            let again = normalize_content(&out).expect("normalised content is accepted again");
            assert_eq!(again, out, "normalising twice changes the content");
        }
        Err(Error::Validation { field, .. }) => assert_eq!(field, "content"),
        Err(other) => panic!("content {raw:?} gave a non-validation error: {other:?}"),
    }
}

fn check_name(raw: &str) {
    match normalize_name("name", raw) {
        Ok(out) => {
            let chars = out.chars().count();
            assert!(
                (1..=100).contains(&chars),
                "accepted name has {chars} characters"
            );
            assert_eq!(out, out.trim(), "accepted name is not trimmed");
            assert!(
                !out.chars().any(char::is_control),
                "accepted name has a control character"
            );
            let again = normalize_name("name", &out).expect("a normalised name is accepted again");
            assert_eq!(again, out, "normalising a name twice changes it");
        }
        Err(Error::Validation { field, .. }) => assert_eq!(field, "name"),
        Err(other) => panic!("name {raw:?} gave a non-validation error: {other:?}"),
    }
}

fn check_login_rules(raw: &str) {
    match check_login(raw) {
        Ok(()) => {
            let chars = raw.chars().count();
            assert!(
                (1..=64).contains(&chars),
                "accepted login has {chars} characters"
            );
            assert!(
                !raw.chars().any(|c| c.is_whitespace() || c.is_control()),
                "accepted login {raw:?} has white space or a control character"
            );
        }
        Err(Error::Validation { field, .. }) => assert_eq!(field, "login"),
        Err(other) => panic!("login {raw:?} gave a non-validation error: {other:?}"),
    }
}
