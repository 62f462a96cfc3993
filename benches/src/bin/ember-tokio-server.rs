//! A minimal tokio + tokio-tungstenite broadcast server speaking the subset of Ember's
//! WebSocket protocol that `ember-load` uses (`ready`, `subscribe`, `post` → `ack` +
//! `message`, `ping`), with no authentication and no storage: the comparison baseline.
//!
//! `ember-tokio-server [--listen 127.0.0.1:9090] [--threads N]`

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

type Rooms = Arc<Mutex<HashMap<String, broadcast::Sender<Utf8Bytes>>>>;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let listen: SocketAddr = flag("--listen")
        .unwrap_or_else(|| "127.0.0.1:9090".into())
        .parse()
        .map_err(|e| std::io::Error::other(format!("--listen: {e}")))?;
    let threads: usize = flag("--threads").and_then(|t| t.parse().ok()).unwrap_or(2);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?
        .block_on(serve(listen))
}

async fn serve(listen: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    println!("listening on http://{}/", listener.local_addr()?);
    let rooms: Rooms = Arc::default();
    loop {
        let (stream, _) = listener.accept().await?;
        let rooms = rooms.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, rooms).await {
                eprintln!("connection: {e}");
            }
        });
    }
}

async fn connection(
    stream: TcpStream,
    rooms: Rooms,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let _ = stream.set_nodelay(true);
    let ws = tokio_tungstenite::accept_async(stream).await?;
    let (mut tx, mut rx) = ws.split();
    let ready = json!({"type": "ready", "epoch": "tokio", "user": {"id": "u", "name": "load"},
                       "rooms": []});
    tx.send(Message::text(ready.to_string())).await?;
    let mut sub: Option<broadcast::Receiver<Utf8Bytes>> = None;
    loop {
        tokio::select! {
            frame = rx.next() => {
                let Some(frame) = frame else { return Ok(()) };
                let Message::Text(text) = frame? else { continue };
                for reply in handle(&text, &rooms, &mut sub) {
                    tx.send(Message::text(reply)).await?;
                }
            }
            event = recv(&mut sub) => match event {
                Ok(bytes) => tx.send(Message::Text(bytes)).await?,
                Err(broadcast::error::RecvError::Lagged(_)) => return Ok(()),
                Err(broadcast::error::RecvError::Closed) => sub = None,
            }
        }
    }
}

async fn recv(
    sub: &mut Option<broadcast::Receiver<Utf8Bytes>>,
) -> Result<Utf8Bytes, broadcast::error::RecvError> {
    match sub {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

fn room(rooms: &Rooms, id: &str) -> broadcast::Sender<Utf8Bytes> {
    let mut map = rooms.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(id.to_owned())
        .or_insert_with(|| broadcast::channel(1024).0)
        .clone()
}

fn handle(
    text: &str,
    rooms: &Rooms,
    sub: &mut Option<broadcast::Receiver<Utf8Bytes>>,
) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return vec![json!({"type": "error", "code": "bad_request"}).to_string()];
    };
    let room_id = v["room_id"].as_str().unwrap_or("").to_owned();
    match v["type"].as_str() {
        Some("subscribe") => {
            *sub = Some(room(rooms, &room_id).subscribe());
            let frame = json!({"type": "subscribed", "ref": v["ref"], "room_id": room_id,
                               "head_seq": 0, "complete": true, "online": []});
            vec![frame.to_string()]
        }
        Some("post") => {
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            let m = json!({"id": id.to_string(), "seq": id, "change_seq": id, "room_id": room_id,
                           "creator_id": "u", "client_message_id": v["client_message_id"],
                           "content": v["content"], "created_at": 0, "edited_at": null,
                           "deleted": false, "sound": null, "mentions": []});
            let frame = json!({"type": "message", "message": m}).to_string();
            let _ = room(rooms, &room_id).send(Utf8Bytes::from(frame));
            vec![
                json!({"type": "ack", "ref": v["ref"], "message": m, "duplicate": false})
                    .to_string(),
            ]
        }
        Some("ping") => vec![json!({"type": "pong", "ref": v["ref"]}).to_string()],
        _ => vec![json!({"type": "error", "code": "bad_request"}).to_string()],
    }
}
