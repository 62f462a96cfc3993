//! Admin commands: plain output, one record per line, usable from scripts and while a
//! server runs on the same file.

use clap::Subcommand;
use ember_engine::{Engine, NewUser, Role, Room, RoomKind, User};

/// `user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a person; prints the new user's id.
    Add {
        /// Unique login.
        login: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Password (8 characters or more).
        #[arg(long, env = "EMBER_PASSWORD")]
        password: String,
        /// Make the user an admin.
        #[arg(long)]
        admin: bool,
    },
    /// List users: id, login, name, role, active.
    List,
    /// Deactivate a user (ends all sessions).
    Deactivate {
        /// The login.
        login: String,
    },
}

/// `room ...`
#[derive(Debug, Subcommand)]
pub enum RoomCommand {
    /// Create a room; prints its id.
    Add {
        /// Room name.
        name: String,
        /// open (everyone) or closed (members only).
        #[arg(long, default_value = "open")]
        kind: String,
        /// A member to add (closed rooms); repeatable.
        #[arg(long = "member")]
        members: Vec<String>,
    },
    /// List rooms: id, name, kind, newest seq.
    List,
    /// Add or remove members.
    #[command(subcommand)]
    Member(MemberCommand),
}

/// `room member ...`
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Add a user to a room (name or id).
    Add {
        /// Room name or id.
        room: String,
        /// The user's login.
        login: String,
    },
    /// Remove a user from a room (name or id).
    Remove {
        /// Room name or id.
        room: String,
        /// The user's login.
        login: String,
    },
}

/// `bot ...`
#[derive(Debug, Subcommand)]
pub enum BotCommand {
    /// Create a bot; prints its key and its webhook signing secret, tab-separated, on one
    /// line (the key is shown only once).
    Add {
        /// The bot's name (its login is derived from it).
        name: String,
        /// URL to call with each message that mentions the bot.
        #[arg(long)]
        webhook: Option<String>,
        /// Rooms to add the bot to (name or id); repeatable.
        #[arg(long = "room")]
        rooms: Vec<String>,
    },
    /// Replace a bot's webhook signing secret; prints the new one.
    SecretRotate {
        /// The bot's login.
        login: String,
    },
}

/// `token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Open a session for a user; prints only the token.
    Create {
        /// The user's login.
        login: String,
    },
    /// End one session (its sockets on a running server close within a second).
    Revoke {
        /// The token.
        token: String,
    },
    /// End every session of a user; prints how many there were.
    RevokeAll {
        /// The user's login.
        login: String,
    },
}

type Out = Result<(), String>;

fn err(e: ember_engine::Error) -> String {
    e.to_string()
}

/// Runs a `user` command.
pub fn user(engine: &Engine, cmd: &UserCommand) -> Out {
    match cmd {
        UserCommand::Add {
            login,
            name,
            password,
            admin,
        } => {
            let role = if *admin { Role::Admin } else { Role::Member };
            let new = NewUser {
                login: login.clone(),
                name: name.clone(),
                password: password.clone(),
                role,
            };
            let user = engine.create_user(new).map_err(err)?;
            println!("{}", user.id);
        }
        UserCommand::List => {
            for u in engine.users().map_err(err)? {
                let state = if u.active { "active" } else { "deactivated" };
                println!(
                    "{}\t{}\t{}\t{}\t{state}",
                    u.id,
                    u.login,
                    u.name,
                    u.role.as_str()
                );
            }
        }
        UserCommand::Deactivate { login } => {
            let user = engine.user_by_login(login).map_err(err)?;
            engine.deactivate_user(user.id).map_err(err)?;
            println!("deactivated {}", user.login);
        }
    }
    Ok(())
}

/// Runs a `room` command.
pub fn room(engine: &Engine, cmd: &RoomCommand) -> Out {
    match cmd {
        RoomCommand::Add {
            name,
            kind,
            members,
        } => {
            let kind = match RoomKind::parse(kind) {
                Some(k @ (RoomKind::Open | RoomKind::Closed)) => k,
                _ => return Err(format!("--kind {kind}: use open or closed")),
            };
            let admin = first_admin(engine)?;
            let ids = members
                .iter()
                .map(|l| engine.user_by_login(l).map(|u| u.id).map_err(err))
                .collect::<Result<Vec<_>, _>>()?;
            let room = engine
                .create_room(admin.id, kind, name, &ids)
                .map_err(err)?;
            println!("{}", room.id);
        }
        RoomCommand::List => {
            for r in engine.all_rooms().map_err(err)? {
                println!("{}\t{}\t{}\t{}", r.id, r.name, r.kind.as_str(), r.head_seq);
            }
        }
        RoomCommand::Member(m) => {
            let admin = first_admin(engine)?;
            let (room, login, add) = match m {
                MemberCommand::Add { room, login } => (room, login, true),
                MemberCommand::Remove { room, login } => (room, login, false),
            };
            let room = find_room(engine, room)?;
            let user = engine.user_by_login(login).map_err(err)?;
            if add {
                engine.add_member(admin.id, room.id, user.id).map_err(err)?;
                println!("added {} to {}", user.login, room.name);
            } else {
                engine
                    .remove_member(admin.id, room.id, user.id)
                    .map_err(err)?;
                println!("removed {} from {}", user.login, room.name);
            }
        }
    }
    Ok(())
}

/// Runs a `bot` command.
pub fn bot(engine: &Engine, cmd: &BotCommand) -> Out {
    match cmd {
        BotCommand::Add {
            name,
            webhook,
            rooms,
        } => add_bot(engine, name, webhook.as_deref(), rooms),
        BotCommand::SecretRotate { login } => {
            let bot = engine.user_by_login(login).map_err(err)?;
            let secret = engine.rotate_bot_webhook_secret(bot.id).map_err(err)?;
            println!("{secret}");
            Ok(())
        }
    }
}

fn add_bot(engine: &Engine, name: &str, webhook: Option<&str>, rooms: &[String]) -> Out {
    let login: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let bot = engine.create_bot(&login, name).map_err(err)?;
    if let Some(url) = webhook {
        engine
            .set_bot_webhook(bot.user.id, Some(url))
            .map_err(err)?;
    }
    if !rooms.is_empty() {
        let admin = first_admin(engine)?;
        for r in rooms {
            let room = find_room(engine, r)?;
            engine
                .add_member(admin.id, room.id, bot.user.id)
                .map_err(err)?;
        }
    }
    println!("{}\t{}", bot.key, bot.webhook_secret);
    Ok(())
}

/// Runs a `token` command.
pub fn token(engine: &Engine, cmd: &TokenCommand) -> Out {
    match cmd {
        TokenCommand::Create { login } => {
            let user = engine.user_by_login(login).map_err(err)?;
            let session = engine.create_session(user.id).map_err(err)?;
            println!("{}", session.token);
        }
        TokenCommand::Revoke { token } => engine.revoke_session(token).map_err(err)?,
        TokenCommand::RevokeAll { login } => {
            let user = engine.user_by_login(login).map_err(err)?;
            println!("{}", engine.revoke_all_sessions(user.id).map_err(err)?);
        }
    }
    Ok(())
}

fn first_admin(engine: &Engine) -> Result<User, String> {
    engine
        .users()
        .map_err(err)?
        .into_iter()
        .find(|u| u.role == Role::Admin && u.active)
        .ok_or_else(|| "no active admin: create one with `user add LOGIN --admin`".to_owned())
}

fn find_room(engine: &Engine, name_or_id: &str) -> Result<Room, String> {
    engine
        .all_rooms()
        .map_err(err)?
        .into_iter()
        .find(|r| r.name == name_or_id || r.id.to_string() == name_or_id)
        .ok_or_else(|| format!("no room named {name_or_id}"))
}
