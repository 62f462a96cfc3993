//! The dispatcher thread: takes what the writer committed and fans it out, runs the
//! presence and typing timers, works out who to notify of new messages, and watches for
//! access changes committed by other connections ([`super::watch`]). In a cluster it also
//! publishes what this engine committed and delivers what the others did
//! ([`crate::cluster`]).

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::watch::Watch;
use super::{Change, Live};
use crate::cluster::Cluster;
use crate::events::{Event, Notification, Shared};
use crate::model::Message;
use crate::plugins::Plugins;
use crate::store::backend::Reads;

/// How often presence and typing timers are checked.
const TICK: Duration = Duration::from_millis(250);

pub(crate) fn spawn(
    live: Arc<Live>,
    plugins: Arc<Plugins>,
    rx: Receiver<Vec<Change>>,
    reader: Box<dyn Reads>,
    origin: i64,
    cluster: Option<Arc<Cluster>>,
) -> std::io::Result<JoinHandle<()>> {
    let watch = Watch::new(reader.as_ref(), origin);
    std::thread::Builder::new()
        .name("ember-dispatch".into())
        .spawn(move || {
            let mut d = Dispatcher {
                live: &live,
                plugins: &plugins,
                reader: reader.as_ref(),
                cluster: cluster.as_deref(),
            };
            d.run(&rx, watch);
        })
}

struct Dispatcher<'a> {
    live: &'a Live,
    plugins: &'a Plugins,
    reader: &'a dyn Reads,
    cluster: Option<&'a Cluster>,
}

impl Dispatcher<'_> {
    fn run(&mut self, rx: &Receiver<Vec<Change>>, mut watch: Watch) {
        let never = crossbeam_channel::never();
        let inbox = self.cluster.map_or(&never, |c| c.inbox());
        let mut last_sweep = Instant::now();
        let mut fill_in: Option<Duration> = None;
        loop {
            let mut wait = TICK
                .saturating_sub(last_sweep.elapsed())
                .min(watch.due_in());
            if let Some(fill_in) = fill_in {
                wait = wait.min(fill_in);
            }
            crossbeam_channel::select! {
                recv(rx) -> changes => match changes {
                    Ok(changes) => self.committed(changes),
                    Err(_) => return,
                },
                recv(inbox) -> inbound => {
                    if let (Ok(inbound), Some(c)) = (inbound, self.cluster) {
                        c.inbound(self.live, self.reader, inbound);
                    }
                },
                default(wait) => {},
            }
            if last_sweep.elapsed() >= TICK {
                self.live.sweep();
                if let Some(c) = self.cluster {
                    c.tick(self.live);
                }
                last_sweep = Instant::now();
            }
            fill_in = self.cluster.and_then(|c| c.serve(self.live, self.reader));
            watch.poll(self.live, self.reader);
        }
    }

    /// Delivers and publishes what this engine's writer committed.
    fn committed(&self, changes: Vec<Change>) {
        let live = self.live;
        for change in changes {
            if let Some(c) = self.cluster {
                c.publish(&change);
            }
            let Change::Room(event) = change else {
                live.hub.apply(change);
                continue;
            };
            // Built once, shared by the subscribers and the plugins.
            let shared = Shared::new(event);
            match self.cluster {
                Some(c) if shared.event().change_seq().is_some() => {
                    c.deliver_local(live, self.reader, &shared)
                }
                _ => live.hub.publish_shared(shared.clone()),
            }
            self.plugins.dispatch(&shared);
            if let Event::MessageCreated(m) = shared.event() {
                notify(live, self.reader, m);
            }
        }
    }
}

/// Sends the notification stream the members to tell about a new message.
fn notify(live: &Live, reader: &dyn Reads, m: &Message) {
    if !live.hub.wants_notifications() {
        return;
    }
    let members = match reader.notifiable(m.room_id) {
        Ok(members) => members,
        Err(e) => {
            log::warn!("cannot compute notifications for message {}: {e}", m.id);
            return;
        }
    };
    let users: Vec<_> = {
        let presence = live.presence.lock();
        members
            .into_iter()
            .filter(|(user, involvement)| {
                *user != m.creator_id
                    && super::hub::Hub::notifiable(*involvement, m.mentions.contains(user))
                    && !presence.is_present(m.room_id, *user)
            })
            .map(|(user, _)| user)
            .collect()
    };
    if !users.is_empty() {
        live.hub.notify(Notification {
            message: m.clone(),
            users,
        });
    }
}
