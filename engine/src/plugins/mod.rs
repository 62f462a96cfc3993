//! The plugin host: hooks before a post is written, after events commit, and slash
//! commands. A plugin that panics is caught, disabled and reported; posting goes on.

mod sounds;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use parking_lot::{Mutex, RwLock};

pub use sounds::{SOUNDS, Sounds};

use crate::error::{Error, Result};
use crate::events::{Event, SharedEvent};
use crate::ids::{ClientMessageId, RoomId, UserId};

/// Who is posting where, as a plugin sees it.
#[derive(Clone, Debug)]
pub struct PostContext {
    /// The author.
    pub user_id: UserId,
    /// The room.
    pub room_id: RoomId,
    /// The client's id for the post.
    pub client_message_id: ClientMessageId,
}

/// The post about to be written; plugins may rewrite it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// The content (validated again after the plugins ran).
    pub content: String,
    /// A sound to attach (one of [`SOUNDS`]).
    pub sound: Option<String>,
}

/// What [`Plugin::on_post`] decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Write the draft (as the plugin may have changed it).
    Accept,
    /// Write nothing; the poster gets [`Error::Rejected`] with this reason.
    Reject(String),
}

/// A slash command a plugin handles: `/name args`. Names are lower-cased: `Shout` and
/// `shout` both answer `/shout`, `/SHOUT` and `/Shout`, and the handler gets `shout`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandSpec {
    /// The name without the slash, e.g. `play`; lower-cased at registration.
    pub name: String,
    /// Handlers of the same name run from the highest priority down.
    pub priority: i32,
}

/// What a command handler answers (libpurple's model).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandOutcome {
    /// Done: write the draft as the handler left it; no other handler runs.
    Handled,
    /// The command is wrong: write nothing; the poster gets [`Error::Rejected`].
    Failed(String),
    /// Not for this handler: try the next one; if none handles it, it is plain text.
    Continue,
}

/// A plugin. Every method has a default that does nothing, so a plugin implements only
/// what it needs. Methods may be called from several threads at once.
pub trait Plugin: Send + Sync + 'static {
    /// A short name for logs and reports.
    fn name(&self) -> &str;

    /// Runs before a post is written, on the poster's thread (never on the writer).
    fn on_post(&self, _ctx: &PostContext, _draft: &mut Draft) -> Decision {
        Decision::Accept
    }

    /// Runs after an event committed, on the plugin thread; it never delays the writer or
    /// delivery to subscribers.
    fn on_event(&self, _event: &Event) {}

    /// Whether [`Plugin::on_event`] wants events at all; a plugin that answers false is
    /// never sent any (no thread wake-up per event). Asked once, at registration.
    fn wants_events(&self) -> bool {
        true
    }

    /// The slash commands this plugin handles; asked once, at registration.
    fn commands(&self) -> Vec<CommandSpec> {
        Vec::new()
    }

    /// Handles `/command args` (command without the slash).
    fn on_command(
        &self,
        _command: &str,
        _args: &str,
        _ctx: &PostContext,
        _draft: &mut Draft,
    ) -> CommandOutcome {
        CommandOutcome::Continue
    }
}

/// A registered plugin's health.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginStatus {
    /// [`Plugin::name`].
    pub name: String,
    /// False once it panicked.
    pub enabled: bool,
    /// What the panic said.
    pub fault: Option<String>,
}

struct Entry {
    plugin: Box<dyn Plugin>,
    name: String,
    wants_events: bool,
    enabled: AtomicBool,
    fault: Mutex<Option<String>>,
}

struct Handler {
    name: String,
    priority: i32,
    entry: Arc<Entry>,
}

pub(crate) struct Plugins {
    entries: RwLock<Vec<Arc<Entry>>>,
    handlers: RwLock<Vec<Handler>>,
    budget: Duration,
    events: Mutex<Option<EventThread>>,
    /// Set by [`Plugins::stop`]: no plugin registers afterwards.
    stopped: AtomicBool,
}

/// The plugin thread and its inbox.
type EventThread = (Sender<SharedEvent>, JoinHandle<()>);

impl Plugins {
    pub(crate) fn new(budget: Duration) -> Self {
        Self {
            entries: RwLock::new(Vec::new()),
            handlers: RwLock::new(Vec::new()),
            budget,
            events: Mutex::new(None),
            stopped: AtomicBool::new(false),
        }
    }

    pub(crate) fn register(self: &Arc<Self>, plugin: Box<dyn Plugin>) -> Result<()> {
        let name = plugin.name().to_owned();
        if name.trim().is_empty() {
            return Err(Error::validation("plugin", "name is empty"));
        }
        let entry = Arc::new(Entry {
            wants_events: plugin.wants_events(),
            plugin,
            name,
            enabled: AtomicBool::new(true),
            fault: Mutex::new(None),
        });
        let commands = guard(&entry, self.budget, "commands", |p| p.commands()).unwrap_or_default();
        {
            let mut handlers = self.handlers.write();
            for c in commands {
                handlers.push(Handler {
                    name: c.name.trim_start_matches('/').to_lowercase(),
                    priority: c.priority,
                    entry: entry.clone(),
                });
            }
            // Stable: equal priorities keep registration order.
            handlers.sort_by_key(|h| std::cmp::Reverse(h.priority));
        }
        let wants_events = entry.wants_events;
        {
            let mut entries = self.entries.write();
            if self.stopped.load(Ordering::Acquire) {
                drop(entries);
                self.handlers
                    .write()
                    .retain(|h| !Arc::ptr_eq(&h.entry, &entry));
                return Err(Error::Closed);
            }
            entries.push(entry);
        }
        if wants_events {
            self.start_event_thread();
        }
        Ok(())
    }

    fn start_event_thread(self: &Arc<Self>) {
        let mut events = self.events.lock();
        if events.is_some() {
            return;
        }
        let (tx, rx) = crossbeam_channel::unbounded::<SharedEvent>();
        let host = Arc::downgrade(self);
        let thread = std::thread::Builder::new()
            .name("ember-plugins".into())
            .spawn(move || {
                for event in rx {
                    let Some(host) = host.upgrade() else { return };
                    let entries = host.entries.read().clone();
                    for entry in entries.iter().filter(|e| e.wants_events) {
                        guard(entry, host.budget, "on_event", |p| {
                            p.on_event(event.event())
                        });
                    }
                }
            });
        match thread {
            Ok(t) => *events = Some((tx, t)),
            Err(e) => log::error!("cannot start the plugin thread: {e}"),
        }
    }

    /// Runs the slash command handlers, then every `on_post` hook.
    pub(crate) fn before_post(&self, ctx: &PostContext, draft: &mut Draft) -> Result<()> {
        if let Some((command, args)) = parse_command(&draft.content) {
            let handlers: Vec<Arc<Entry>> = self
                .handlers
                .read()
                .iter()
                .filter(|h| h.name == command)
                .map(|h| h.entry.clone())
                .collect();
            for entry in handlers {
                let outcome = guard(&entry, self.budget, "on_command", |p| {
                    p.on_command(&command, &args, ctx, draft)
                });
                match outcome {
                    Some(CommandOutcome::Handled) => break,
                    Some(CommandOutcome::Failed(reason)) => {
                        return Err(Error::Rejected {
                            plugin: entry.name.clone(),
                            reason,
                        });
                    }
                    Some(CommandOutcome::Continue) | None => {}
                }
            }
        }
        let entries = self.entries.read().clone();
        for entry in entries {
            if let Some(Decision::Reject(reason)) =
                guard(&entry, self.budget, "on_post", |p| p.on_post(ctx, draft))
            {
                return Err(Error::Rejected {
                    plugin: entry.name.clone(),
                    reason,
                });
            }
        }
        Ok(())
    }

    /// Hands a committed event to the plugin thread.
    pub(crate) fn dispatch(&self, event: &SharedEvent) {
        if let Some((tx, _)) = &*self.events.lock() {
            let _ = tx.send(event.clone());
        }
    }

    pub(crate) fn statuses(&self) -> Vec<PluginStatus> {
        self.entries
            .read()
            .iter()
            .map(|e| PluginStatus {
                name: e.name.clone(),
                enabled: e.enabled.load(Ordering::Acquire),
                fault: e.fault.lock().clone(),
            })
            .collect()
    }

    /// Stops the plugin thread after it has handled what was queued, then lets go of every
    /// plugin, so each is dropped (a C plugin's `destroy` runs) as soon as no hook of it is
    /// running. Later registrations fail with [`Error::Closed`].
    pub(crate) fn stop(&self) {
        let taken = self.events.lock().take();
        if let Some((tx, thread)) = taken {
            drop(tx);
            let _ = thread.join();
        }
        let entries = {
            let mut entries = self.entries.write();
            self.stopped.store(true, Ordering::Release);
            std::mem::take(&mut *entries)
        };
        let handlers = std::mem::take(&mut *self.handlers.write());
        drop(handlers);
        drop(entries);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.read().is_empty()
    }
}

/// Runs a hook unless the plugin is disabled; a panic disables it. A hook slower than
/// `budget` is logged with the plugin's name.
fn guard<T>(
    entry: &Entry,
    budget: Duration,
    hook: &str,
    f: impl FnOnce(&dyn Plugin) -> T,
) -> Option<T> {
    if !entry.enabled.load(Ordering::Acquire) {
        return None;
    }
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| f(entry.plugin.as_ref())));
    let took = started.elapsed();
    if took > budget {
        log::warn!(
            "plugin {} took {} ms in {hook} (budget {} ms)",
            entry.name,
            took.as_millis(),
            budget.as_millis()
        );
    }
    match result {
        Ok(v) => Some(v),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            log::error!(
                "plugin {} panicked in {hook} and is disabled: {what}",
                entry.name
            );
            entry.enabled.store(false, Ordering::Release);
            *entry.fault.lock() = Some(format!("panicked in {hook}: {what}"));
            None
        }
    }
}

/// `/name rest` → (`name`, `rest`), for content that starts with a slash command.
fn parse_command(content: &str) -> Option<(String, String)> {
    let rest = content.strip_prefix('/')?;
    let (name, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return None;
    }
    Some((name.to_lowercase(), args.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Upper;

    impl Plugin for Upper {
        fn name(&self) -> &str {
            "upper"
        }
        fn commands(&self) -> Vec<CommandSpec> {
            vec![CommandSpec {
                name: "/Shout".into(),
                priority: 0,
            }]
        }
        fn on_command(
            &self,
            command: &str,
            args: &str,
            _ctx: &PostContext,
            draft: &mut Draft,
        ) -> CommandOutcome {
            draft.content = format!("{command}: {}", args.to_uppercase());
            CommandOutcome::Handled
        }
    }

    #[test]
    fn command_names_are_lower_cased_when_registered_and_typed() {
        let plugins = Arc::new(Plugins::new(Duration::from_secs(1)));
        plugins.register(Box::new(Upper)).unwrap();
        let ctx = PostContext {
            user_id: UserId::from_bytes([1; 16]),
            room_id: RoomId::from_bytes([2; 16]),
            client_message_id: ClientMessageId::new_v7(),
        };
        for typed in ["/shout hi", "/SHOUT hi", "/Shout hi"] {
            let mut draft = Draft {
                content: typed.into(),
                sound: None,
            };
            plugins.before_post(&ctx, &mut draft).unwrap();
            assert_eq!(draft.content, "shout: HI", "{typed}");
        }
    }

    #[test]
    fn commands_are_parsed_only_at_the_start() {
        assert_eq!(
            parse_command("/play tada"),
            Some(("play".into(), "tada".into()))
        );
        assert_eq!(
            parse_command("/Shout  hi there "),
            Some(("shout".into(), "hi there".into()))
        );
        assert_eq!(parse_command("/me"), Some(("me".into(), String::new())));
        assert_eq!(parse_command("say /play tada"), None);
        assert_eq!(parse_command("/ nothing"), None);
        assert_eq!(parse_command("/usr/bin ls"), None);
    }
}
