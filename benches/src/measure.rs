//! Latency percentiles, plain-text tables, and how busy the rest of the machine was.

use std::time::{Duration, Instant};

/// A set of latency samples.
#[derive(Clone, Debug, Default)]
pub struct Latencies {
    samples: Vec<Duration>,
    sorted: bool,
}

impl Latencies {
    /// Room for `n` samples.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            samples: Vec::with_capacity(n),
            sorted: true,
        }
    }

    /// Adds one sample.
    pub fn push(&mut self, d: Duration) {
        self.samples.push(d);
        self.sorted = false;
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: Latencies) {
        self.samples.extend(other.samples);
        self.sorted = false;
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The `p`-th percentile (0..=100), nearest-rank; zero when empty.
    pub fn percentile(&mut self, p: f64) -> Duration {
        if self.samples.is_empty() {
            return Duration::ZERO;
        }
        if !self.sorted {
            self.samples.sort_unstable();
            self.sorted = true;
        }
        let rank = ((p / 100.0) * self.samples.len() as f64).ceil() as usize;
        self.samples[rank.clamp(1, self.samples.len()) - 1]
    }

    /// The largest sample.
    pub fn max(&mut self) -> Duration {
        self.percentile(100.0)
    }

    /// `p50 / p99 / max` in milliseconds, e.g. `0.12 / 3.40 / 9.80`.
    pub fn summary(&mut self) -> String {
        format!(
            "{} / {} / {}",
            ms(self.percentile(50.0)),
            ms(self.percentile(99.0)),
            ms(self.max())
        )
    }
}

/// A duration in milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

/// A Markdown table printed to stdout.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are left empty).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as Markdown.
    pub fn render(&self) -> String {
        let line = |cells: &[String]| {
            let padded: Vec<&str> = (0..self.header.len())
                .map(|i| cells.get(i).map_or("", String::as_str))
                .collect();
            format!("| {} |\n", padded.join(" | "))
        };
        let mut out = line(&self.header);
        out.push_str(&format!("|{}\n", "---|".repeat(self.header.len())));
        for r in &self.rows {
            out.push_str(&line(r));
        }
        out
    }
}

/// Measures how much CPU the rest of the machine (other processes, and time stolen by the
/// hypervisor) used while a run of this process went on, from Linux's `/proc`: on a shared
/// machine this tells a disturbed run from a clean one.
pub struct CpuMeter {
    at: Instant,
    busy: Option<u64>,
    own: Option<u64>,
}

impl CpuMeter {
    /// Starts measuring.
    pub fn start() -> Self {
        Self {
            at: Instant::now(),
            busy: machine_busy_ticks(),
            own: own_ticks(),
        }
    }

    /// Percent of all the machine's CPUs that others kept busy since [`CpuMeter::start`];
    /// `None` where `/proc` does not tell.
    pub fn others_percent(&self) -> Option<f64> {
        let busy = machine_busy_ticks()?.checked_sub(self.busy?)?;
        let own = own_ticks()?.checked_sub(self.own?)?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let ticks = self.at.elapsed().as_secs_f64() * TICKS_PER_SECOND * cpus;
        Some((busy.saturating_sub(own) as f64 / ticks * 100.0).min(100.0))
    }
}

/// Waits until the rest of the machine used at most `percent` of its CPUs over one second
/// (other processes, or the kernel still writing back a previous run's data), or until
/// `max_wait` has passed. Returns the last reading (`None` where `/proc` does not tell).
pub fn wait_for_quiet(percent: f64, max_wait: Duration) -> Option<f64> {
    let until = Instant::now() + max_wait;
    loop {
        let meter = CpuMeter::start();
        std::thread::sleep(Duration::from_secs(1));
        let others = meter.others_percent();
        if others.is_none_or(|o| o <= percent) || Instant::now() >= until {
            return others;
        }
    }
}

/// Linux's `USER_HZ`, the unit of `/proc/stat` and `/proc/self/stat`.
const TICKS_PER_SECOND: f64 = 100.0;

/// user + nice + system + irq + softirq + steal of all CPUs, from `/proc/stat`.
fn machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let f: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    Some(f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)? + f.get(7)?)
}

/// utime + stime of this process, from `/proc/self/stat`.
fn own_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses: state is the first, utime
    // and stime the 12th and 13th.
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut l = Latencies::default();
        for i in 1..=100 {
            l.push(Duration::from_millis(i));
        }
        assert_eq!(l.percentile(50.0), Duration::from_millis(50));
        assert_eq!(l.percentile(99.0), Duration::from_millis(99));
        assert_eq!(l.max(), Duration::from_millis(100));
        assert_eq!(Latencies::default().percentile(99.0), Duration::ZERO);
    }

    #[test]
    fn cpu_meter_reads_proc_on_linux() {
        let m = CpuMeter::start();
        std::thread::sleep(Duration::from_millis(30));
        if cfg!(target_os = "linux") {
            let p = m.others_percent().expect("linux has /proc");
            assert!((0.0..=100.0).contains(&p), "{p}");
        }
    }

    #[test]
    fn table_renders_markdown() {
        let mut t = Table::new(&["a", "b"]);
        t.row(vec!["1".into()]);
        assert_eq!(t.render(), "| a | b |\n|---|---|\n| 1 |  |\n");
    }
}
