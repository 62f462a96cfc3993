//! What the clients saw, and what it adds up to: latencies, missing and doubled deliveries,
//! order, and across a cluster the delivery from one node to another.

use std::collections::HashMap;

use serde_json::{Value, json};

/// A post: the sender's clock (µs since ember-load started) and the sending client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    pub(crate) stamp: u64,
    pub(crate) sender: u32,
}

/// A post's acknowledgement or delivery, when it arrived (µs since start).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Arrival {
    pub(crate) key: Key,
    pub(crate) at: u64,
}

impl Arrival {
    fn latency(&self) -> u64 {
        self.at.saturating_sub(self.key.stamp)
    }
}

/// What one client saw.
#[derive(Default)]
pub(crate) struct Seen {
    pub(crate) acks: Vec<Arrival>,
    pub(crate) deliveries: Vec<Arrival>,
    pub(crate) acked: u64,
    pub(crate) errors: u64,
    pub(crate) out_of_order: u64,
    pub(crate) duplicates: u64,
    last_change_seq: u64,
}

/// Reads the number after `field` in a frame.
fn number_after(text: &str, field: &str) -> Option<u64> {
    let at = text.find(field)? + field.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The post a frame carries: `load <stamp> <sender> ...` in its content.
fn key_of(text: &str) -> Option<Key> {
    let field = "\"content\":\"load ";
    let stamp = number_after(text, field)?;
    let rest = &text[text.find(field)? + field.len()..];
    let sender = number_after(rest, " ")?;
    Some(Key {
        stamp,
        sender: u32::try_from(sender).ok()?,
    })
}

impl Seen {
    /// Classifies a frame that arrived at `at` without parsing all of it.
    pub(crate) fn record(&mut self, text: &str, at: u64) {
        if text.starts_with("{\"type\":\"message\"") || text.contains("\"type\":\"message\"") {
            if let Some(seq) = number_after(text, "\"change_seq\":") {
                if seq <= self.last_change_seq {
                    self.out_of_order += 1;
                }
                self.last_change_seq = self.last_change_seq.max(seq);
            }
            if let Some(key) = key_of(text) {
                self.deliveries.push(Arrival { key, at });
            }
        } else if text.contains("\"type\":\"ack\"") {
            if let Some(key) = key_of(text) {
                self.acks.push(Arrival { key, at });
                self.acked += 1;
            }
        } else if text.contains("\"type\":\"error\"") {
            self.errors += 1;
        }
    }

    /// Counts the posts this client received more than once (call once, at the end).
    pub(crate) fn finish(&mut self) {
        let mut keys: Vec<Key> = self.deliveries.iter().map(|d| d.key).collect();
        keys.sort_unstable();
        self.duplicates = keys.windows(2).filter(|w| w[0] == w[1]).count() as u64;
    }
}

/// Percentiles in ms of values in µs.
pub(crate) fn pct_ms(v: &mut [u64]) -> Value {
    if v.is_empty() {
        return Value::Null;
    }
    v.sort_unstable();
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0;
    json!({"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "p999": at(0.999), "max": at(1.0)})
}

/// Percentiles in ms of signed values in µs.
fn signed_pct_ms(v: &mut [i64]) -> Value {
    if v.is_empty() {
        return Value::Null;
    }
    v.sort_unstable();
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0;
    json!({"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "p999": at(0.999), "max": at(1.0)})
}

/// Everything the clients of one target saw; `node[i]` is client i's node.
pub(crate) struct Tally {
    pub(crate) seen: Vec<Seen>,
    pub(crate) node: Vec<usize>,
    /// When the `--during` command ended (µs since start), if one ran.
    pub(crate) during_end: Option<u64>,
}

impl Tally {
    /// The report's delivery fields: latencies (all, same node, other node), the other-node
    /// delivery measured from the sender's ack (which leaves after COMMIT), and recovery.
    pub(crate) fn report(&self) -> Value {
        let mut acked_at: HashMap<Key, u64> = HashMap::new();
        let (mut acks, mut all, mut local, mut remote, mut from_ack) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for s in &self.seen {
            for a in &s.acks {
                acked_at.insert(a.key, a.at);
                acks.push(a.latency());
            }
        }
        let mut recovery: Option<u64> = None;
        for (i, s) in self.seen.iter().enumerate() {
            for d in &s.deliveries {
                all.push(d.latency());
                let sender_node = self.node.get(d.key.sender as usize).copied();
                if sender_node == Some(self.node[i]) {
                    local.push(d.latency());
                    continue;
                }
                remote.push(d.latency());
                let Some(&ack) = acked_at.get(&d.key) else {
                    continue;
                };
                from_ack.push(d.at as i64 - ack as i64);
                if let Some(end) = self.during_end.filter(|&end| ack < end) {
                    let late = d.at.saturating_sub(end);
                    recovery = Some(recovery.unwrap_or(0).max(late));
                }
            }
        }
        let sum = |f: fn(&Seen) -> u64| self.seen.iter().map(f).sum::<u64>();
        let multi = self.node.iter().any(|&n| n > 0);
        json!({
            "ack_ms": pct_ms(&mut acks),
            "delivery_ms": pct_ms(&mut all),
            "delivery_same_node_ms": if multi { pct_ms(&mut local) } else { Value::Null },
            "delivery_other_node_ms": if multi { pct_ms(&mut remote) } else { Value::Null },
            "other_node_after_ack_ms": if multi { signed_pct_ms(&mut from_ack) } else { Value::Null },
            "recovery_ms": recovery.map(|r| r as f64 / 1000.0),
            "acked": sum(|s| s.acked),
            "delivered": all.len(),
            "duplicates": sum(|s| s.duplicates),
            "out_of_order": sum(|s| s.out_of_order),
            "errors": sum(|s| s.errors),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_names_its_post_and_a_repeat_or_step_back_is_counted() {
        let frame = |seq: u64, stamp: u64| {
            format!(
                "{{\"type\":\"message\",\"message\":{{\"seq\":{seq},\"change_seq\":{seq},\
                 \"content\":\"load {stamp} 7 1 xxx\"}}}}"
            )
        };
        let mut seen = Seen::default();
        seen.record(&frame(1, 100), 150);
        seen.record(&frame(2, 200), 260);
        seen.record(&frame(2, 200), 270);
        seen.record(&frame(1, 100), 280);
        seen.finish();
        assert_eq!(seen.deliveries.len(), 4);
        assert_eq!(
            seen.deliveries[0].key,
            Key {
                stamp: 100,
                sender: 7
            }
        );
        assert_eq!(seen.deliveries[1].latency(), 60);
        assert_eq!((seen.duplicates, seen.out_of_order), (2, 2));
    }

    #[test]
    fn a_delivery_on_another_node_is_timed_from_the_ack_and_counts_toward_recovery() {
        let key = Key {
            stamp: 1_000,
            sender: 0,
        };
        let mut sender = Seen::default();
        sender.acks.push(Arrival { key, at: 3_000 });
        sender.acked = 1;
        let mut near = Seen::default();
        near.deliveries.push(Arrival { key, at: 2_900 });
        let mut far = Seen::default();
        far.deliveries.push(Arrival { key, at: 9_000 });
        let tally = Tally {
            seen: vec![sender, near, far],
            node: vec![0, 0, 1],
            during_end: Some(5_000),
        };
        let r = tally.report();
        assert_eq!(r["delivered"], 2);
        assert_eq!(r["delivery_other_node_ms"]["p50"], 8.0);
        assert_eq!(r["delivery_same_node_ms"]["p50"], 1.9);
        assert_eq!(r["other_node_after_ack_ms"]["p50"], 6.0);
        assert_eq!(r["recovery_ms"], 4.0);
    }
}
