//! The server's counters and their Prometheus text rendering. Owned by the event loop
//! thread, so plain integers suffice.

use std::fmt::Write;
use std::time::Duration;

use ember_engine::Stats;

/// Upper bounds (seconds) of the latency histograms.
const BUCKETS: [f64; 10] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 2.0];

/// A Prometheus latency histogram (buckets from 0.5 ms to 2 s).
#[derive(Debug, Default)]
pub struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    total: u64,
}

impl Histogram {
    /// Records one latency.
    pub fn observe(&mut self, latency: Duration) {
        let s = latency.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if s <= *bound {
                *count += 1;
            }
        }
        self.sum += s;
        self.total += 1;
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter()) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", self.total);
        let _ = writeln!(out, "{name}_sum {}", self.sum);
        let _ = writeln!(out, "{name}_count {}", self.total);
    }
}

/// Everything `/metrics` reports besides the engine's own counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Open connections (HTTP and WebSocket), kept by the loop.
    pub connections: u64,
    /// Connections accepted since start.
    pub accepted: u64,
    /// Connections refused because the cap was reached.
    pub refused: u64,
    /// WebSocket connections open now.
    pub websockets: u64,
    /// HTTP requests answered.
    pub http_requests: u64,
    /// WebSocket frames received.
    pub frames_in: u64,
    /// WebSocket frames queued for sending.
    pub frames_out: u64,
    /// Posts acknowledged (WebSocket and HTTP).
    pub posts: u64,
    /// Posts answered with an existing message (same client_message_id).
    pub dedup_hits: u64,
    /// Subscriptions the engine detached because the client fell behind.
    pub lagged: u64,
    /// Connections closed with 1008 because their output stayed over budget.
    pub slow_closed: u64,
    /// Connections closed because their session ended or their user was deactivated.
    pub access_closes: u64,
    /// Times a WebSocket's reading paused because its output was over budget.
    pub backpressured: u64,
    /// Expensive requests refused with `overloaded` because the total output was full.
    pub overloaded: u64,
    /// Connections dropped for silence or a request that never completed.
    pub timed_out: u64,
    /// Event loop iterations that took longer than 10 ms.
    pub slow_iterations: u64,
    /// The longest event loop iteration so far, in microseconds.
    pub longest_iteration_us: u64,
    /// From a post's arrival to its acknowledgement.
    pub acks: Histogram,
    /// From the engine publishing a new message (after its COMMIT) to its frame being
    /// queued for a subscriber's socket; the socket is written before the loop waits again.
    pub deliveries: Histogram,
}

impl Metrics {
    /// Records how long one event loop iteration took.
    pub fn observe_iteration(&mut self, took: Duration) {
        let us = took.as_micros() as u64;
        self.longest_iteration_us = self.longest_iteration_us.max(us);
        self.slow_iterations += u64::from(us > 10_000);
    }

    /// The Prometheus text exposition of these counters plus the engine's.
    pub fn render(&self, queued: usize, stats: &Stats, subs: (usize, usize)) -> String {
        let mut out = String::with_capacity(2048);
        let gauges: [(&str, &str, u64); 10] = [
            (
                "ember_loop_longest_iteration_us",
                "Longest event loop iteration.",
                self.longest_iteration_us,
            ),
            (
                "ember_connections",
                "Open connections (HTTP and WebSocket).",
                self.connections,
            ),
            (
                "ember_output_queued_bytes",
                "Bytes queued for all connections, not yet written to their sockets.",
                queued as u64,
            ),
            (
                "ember_websockets",
                "Open WebSocket connections.",
                self.websockets,
            ),
            (
                "ember_writer_queue_depth",
                "Commands waiting for the writer.",
                stats.queue_depth,
            ),
            (
                "ember_writer_largest_batch",
                "Most commands in one commit.",
                stats.largest_batch,
            ),
            (
                "ember_search_backlog",
                "Messages not yet indexed.",
                stats.search_backlog,
            ),
            (
                "ember_room_subscriptions",
                "Live room subscriptions.",
                subs.0 as u64,
            ),
            (
                "ember_user_subscriptions",
                "Live user subscriptions.",
                subs.1 as u64,
            ),
            (
                "ember_writer_avg_batch",
                "Average commands per commit.",
                avg_batch(stats),
            ),
        ];
        for (name, help, v) in gauges {
            metric(&mut out, name, help, "gauge", v);
        }
        let counters: [(&str, &str, u64); 18] = [
            (
                "ember_loop_slow_iterations_total",
                "Loop iterations over 10 ms.",
                self.slow_iterations,
            ),
            (
                "ember_accepted_total",
                "Connections accepted.",
                self.accepted,
            ),
            (
                "ember_refused_total",
                "Connections refused at the cap.",
                self.refused,
            ),
            (
                "ember_http_requests_total",
                "HTTP requests answered.",
                self.http_requests,
            ),
            (
                "ember_frames_in_total",
                "WebSocket frames received.",
                self.frames_in,
            ),
            (
                "ember_frames_out_total",
                "WebSocket frames sent.",
                self.frames_out,
            ),
            ("ember_posts_total", "Posts acknowledged.", self.posts),
            (
                "ember_dedup_hits_total",
                "Posts that returned an existing message.",
                self.dedup_hits,
            ),
            (
                "ember_lagged_total",
                "Subscriptions detached for lagging.",
                self.lagged,
            ),
            (
                "ember_slow_closed_total",
                "Clients closed with 1008 (slow).",
                self.slow_closed,
            ),
            (
                "ember_access_closed_total",
                "WebSockets closed because their session ended or their user was deactivated.",
                self.access_closes,
            ),
            (
                "ember_backpressure_total",
                "Times a client's reading paused because its output was over budget.",
                self.backpressured,
            ),
            (
                "ember_overloaded_total",
                "Expensive requests refused because the total output was full.",
                self.overloaded,
            ),
            (
                "ember_timed_out_total",
                "Connections dropped for silence.",
                self.timed_out,
            ),
            (
                "ember_writer_commands_total",
                "Write commands executed.",
                stats.commands,
            ),
            (
                "ember_writer_failed_commands_total",
                "Write commands rolled back.",
                stats.failed_commands,
            ),
            (
                "ember_writer_transactions_total",
                "Group commits.",
                stats.transactions,
            ),
            (
                "ember_checkpoints_total",
                "WAL checkpoints.",
                stats.checkpoints,
            ),
        ];
        for (name, help, v) in counters {
            metric(&mut out, name, help, "counter", v);
        }
        self.acks.render(
            &mut out,
            "ember_ack_latency_seconds",
            "Time from a post's arrival to its ack.",
        );
        self.deliveries.render(
            &mut out,
            "ember_delivery_latency_seconds",
            "Time from a new message's publication (after COMMIT) to its frame being queued \
             for a subscriber's socket.",
        );
        out
    }
}

fn avg_batch(stats: &Stats) -> u64 {
    stats.commands.checked_div(stats.transactions).unwrap_or(0)
}

fn metric(out: &mut String, name: &str, help: &str, kind: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut m = Metrics::default();
        m.acks.observe(Duration::from_micros(700));
        m.acks.observe(Duration::from_millis(30));
        let text = m.render(0, &Stats::default(), (0, 0));
        assert!(text.contains("ember_ack_latency_seconds_bucket{le=\"0.001\"} 1"));
        assert!(text.contains("ember_ack_latency_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("ember_ack_latency_seconds_count 2"));
    }
}
