//! The built-in `sounds` plugin: `/play <name>` attaches one of Campfire's sounds.

use super::{CommandOutcome, CommandSpec, Draft, Plugin, PostContext};

/// Campfire's 56 sound names.
pub const SOUNDS: [&str; 56] = [
    "56k",
    "ballmer",
    "bell",
    "bezos",
    "bueller",
    "butts",
    "clowntown",
    "cottoneyejoe",
    "crickets",
    "curb",
    "dadgummit",
    "dangerzone",
    "danielsan",
    "deeper",
    "donotwant",
    "drama",
    "flawless",
    "glados",
    "gogogo",
    "greatjob",
    "greyjoy",
    "guarantee",
    "heygirl",
    "honk",
    "horn",
    "horror",
    "inconceivable",
    "letitgo",
    "live",
    "loggins",
    "makeitso",
    "noooo",
    "nyan",
    "ohmy",
    "ohyeah",
    "pushit",
    "rimshot",
    "rollout",
    "rumble",
    "sax",
    "secret",
    "sexyback",
    "story",
    "tada",
    "tmyk",
    "totes",
    "trololo",
    "trombone",
    "unix",
    "vuvuzela",
    "what",
    "whoomp",
    "wups",
    "yay",
    "yeah",
    "yodel",
];

/// `/play <name>`: a known name stores the message with that sound; anything else stays
/// plain text.
pub struct Sounds;

impl Plugin for Sounds {
    fn name(&self) -> &str {
        "sounds"
    }

    fn wants_events(&self) -> bool {
        false
    }

    fn commands(&self) -> Vec<CommandSpec> {
        vec![CommandSpec {
            name: "play".into(),
            priority: 0,
        }]
    }

    fn on_command(
        &self,
        _command: &str,
        args: &str,
        _ctx: &PostContext,
        draft: &mut Draft,
    ) -> CommandOutcome {
        let name = args.to_lowercase();
        if SOUNDS.contains(&name.as_str()) {
            draft.sound = Some(name);
            CommandOutcome::Handled
        } else {
            CommandOutcome::Continue
        }
    }
}
