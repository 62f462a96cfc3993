//! The dispatcher thread: takes what the writer committed and fans it out, runs the
//! presence and typing timers, works out who to notify of new messages, and watches for
//! access changes committed by other connections ([`super::watch`]).

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::watch::Watch;
use super::{Change, Live};
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
) -> std::io::Result<JoinHandle<()>> {
    let watch = Watch::new(reader.as_ref(), origin);
    std::thread::Builder::new()
        .name("ember-dispatch".into())
        .spawn(move || run(&live, &plugins, &rx, reader.as_ref(), watch))
}

fn run(
    live: &Live,
    plugins: &Plugins,
    rx: &Receiver<Vec<Change>>,
    reader: &dyn Reads,
    mut watch: Watch,
) {
    let mut last_sweep = Instant::now();
    loop {
        let wait = TICK
            .saturating_sub(last_sweep.elapsed())
            .min(watch.due_in());
        match rx.recv_timeout(wait) {
            Ok(changes) => {
                for change in changes {
                    let Change::Room(event) = change else {
                        live.hub.apply(change);
                        continue;
                    };
                    // Built once, shared by the subscribers and the plugins.
                    let shared = Shared::new(event);
                    live.hub.publish_shared(shared.clone());
                    plugins.dispatch(&shared);
                    if let Event::MessageCreated(m) = shared.event() {
                        notify(live, reader, m);
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if last_sweep.elapsed() >= TICK {
            live.sweep();
            last_sweep = Instant::now();
        }
        watch.poll(live, reader);
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
