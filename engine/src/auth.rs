//! Secrets: password hashes, session tokens and bot keys.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

use crate::error::{Error, Result};
use crate::options::PasswordCost;

/// Hashes a password with argon2id and a random salt (PHC string format).
pub(crate) fn hash_password(password: &str, cost: PasswordCost) -> Result<String> {
    if password.len() < 8 || password.len() > 1024 {
        return Err(Error::validation("password", "must have 8 to 1024 bytes"));
    }
    let params = Params::new(cost.memory_kib, cost.iterations, 1, None)
        .map_err(|e| Error::validation("password_cost", e.to_string()))?;
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| Error::validation("salt", e.to_string()))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::validation("password", e.to_string()))
}

/// True when `password` matches the stored PHC string. A missing or malformed hash never
/// matches.
pub(crate) fn verify_password(password: &str, stored: Option<&str>) -> bool {
    let Some(parsed) = stored.and_then(|s| PasswordHash::new(s).ok()) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A new random secret of 256 bits, as 64 lower-case hex characters.
pub(crate) fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What is stored instead of a token or key: its blake3 hash.
pub(crate) fn secret_hash(secret: &str) -> [u8; 32] {
    *blake3::hash(secret.as_bytes()).as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() {
        let cost = PasswordCost {
            memory_kib: 8,
            iterations: 1,
        };
        let h = hash_password("correct horse", cost).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", Some(&h)));
        assert!(!verify_password("wrong horse!", Some(&h)));
        assert!(!verify_password("correct horse", None));
        assert!(!verify_password("correct horse", Some("garbage")));
        assert!(hash_password("short", cost).is_err());
    }

    #[test]
    fn secrets_are_random_hex() {
        let a = new_secret();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, new_secret());
    }
}
