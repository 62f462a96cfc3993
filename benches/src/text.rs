//! Message contents with realistic term frequencies.
//!
//! A [`Vocabulary`] holds a few thousand made-up words (lower-case letters, 2–4 syllables)
//! ranked by frequency with a Zipf distribution (exponent 1), like natural language: the
//! most common word is in most messages, a word of rank 3000 in a few hundred out of a
//! million. The words are fixed by a seed, so every run and the cached corpus agree.

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Words in [`Vocabulary::standard`].
pub const VOCABULARY_SIZE: usize = 4000;

/// Rank of the word used as the "common" search term (the most frequent word).
pub const COMMON_RANK: usize = 0;

/// Rank of the word used as the "rare" search term.
pub const RARE_RANK: usize = 3000;

/// Target length of a message in bytes (contents come out at about this length).
pub const CONTENT_BYTES: usize = 100;

const CONSONANTS: &[u8] = b"bcdfghklmnprstvz";
const VOWELS: &[u8] = b"aeiou";

/// Words ranked by frequency, and their cumulative Zipf weights for sampling.
pub struct Vocabulary {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Vocabulary {
    /// The vocabulary every benchmark uses: [`VOCABULARY_SIZE`] words, seed 42.
    pub fn standard() -> Self {
        Self::new(VOCABULARY_SIZE, 42)
    }

    /// `size` distinct words made from `seed`.
    pub fn new(size: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut seen = HashSet::with_capacity(size);
        let mut words = Vec::with_capacity(size);
        while words.len() < size {
            let word = made_up_word(&mut rng);
            if seen.insert(word.clone()) {
                words.push(word);
            }
        }
        let mut total = 0.0;
        let cumulative = (1..=size)
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Self { words, cumulative }
    }

    /// The word of frequency rank `rank` (0 is the most frequent).
    pub fn word(&self, rank: usize) -> &str {
        &self.words[rank]
    }

    /// A word drawn with Zipf frequencies.
    pub fn sample(&self, rng: &mut impl Rng) -> &str {
        let total = *self.cumulative.last().expect("non-empty vocabulary");
        let x = rng.random::<f64>() * total;
        let rank = self.cumulative.partition_point(|&c| c < x);
        &self.words[rank.min(self.words.len() - 1)]
    }

    /// A message of about [`CONTENT_BYTES`] bytes: sampled words separated by spaces.
    pub fn message(&self, rng: &mut impl Rng) -> String {
        let mut out = String::with_capacity(CONTENT_BYTES + 16);
        while out.len() < CONTENT_BYTES - 4 {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(self.sample(rng));
        }
        out
    }
}

fn made_up_word(rng: &mut impl Rng) -> String {
    let syllables = rng.random_range(2..=4);
    let mut word = String::with_capacity(syllables * 2 + 1);
    for _ in 0..syllables {
        word.push(CONSONANTS[rng.random_range(0..CONSONANTS.len())] as char);
        word.push(VOWELS[rng.random_range(0..VOWELS.len())] as char);
    }
    if rng.random_bool(0.3) {
        word.push(CONSONANTS[rng.random_range(0..CONSONANTS.len())] as char);
    }
    word
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_deterministic_and_zipf_like() {
        let a = Vocabulary::new(500, 7);
        let b = Vocabulary::new(500, 7);
        assert_eq!(a.word(0), b.word(0));
        assert_eq!(a.word(499), b.word(499));
        let mut rng = StdRng::seed_from_u64(1);
        let draws = 20_000;
        let top = (0..draws)
            .filter(|_| a.sample(&mut rng) == a.word(0))
            .count();
        // 1 / H(500) is about 15%.
        assert!((2_000..4_000).contains(&top), "{top}");
    }

    #[test]
    fn messages_are_about_the_target_length() {
        let v = Vocabulary::new(200, 3);
        let mut rng = StdRng::seed_from_u64(2);
        for _ in 0..100 {
            let m = v.message(&mut rng);
            assert!(
                (CONTENT_BYTES - 4..CONTENT_BYTES + 12).contains(&m.len()),
                "{m}"
            );
            assert!(m.chars().all(|c| c.is_ascii_lowercase() || c == ' '));
        }
    }
}
