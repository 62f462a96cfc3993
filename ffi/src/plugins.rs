//! The plugin ABI: a C struct of callbacks wrapped as an engine plugin.

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ::ember_engine::{
    CommandOutcome, CommandSpec, Decision, Draft, Engine, Event, Plugin, PostContext,
};

use crate::boundary::{Failure, Outcome, arg_mut, arg_out, arg_ref, arg_slice, arg_str, guard};
use crate::engine::{check_struct_size, ember_engine};
use crate::events::ember_event;
use crate::handles::arg_engine;
use crate::ids::ember_uuid;
use crate::live::ember_destroy_fn;
use crate::status::ember_status;

/// The version of the plugin ABI this library speaks; `ember_plugin.abi_version` must equal it.
pub const EMBER_PLUGIN_ABI_VERSION: u32 = 1;

/// `on_post`: write the draft.
pub const EMBER_ACCEPT: i32 = 0;
/// `on_post`: write nothing; the poster gets `EMBER_ERR_REJECTED` with the reason set by
/// `ember_draft_set_reason`.
pub const EMBER_REJECT: i32 = 1;
/// Command handler: done; write the draft as left; no other handler runs.
pub const EMBER_COMMAND_HANDLED: i32 = 0;
/// Command handler: the command is wrong; write nothing (reason: `ember_draft_set_reason`).
pub const EMBER_COMMAND_FAILED: i32 = 1;
/// Command handler: not mine; try the next handler, or post the text as it is.
pub const EMBER_COMMAND_CONTINUE: i32 = 2;

/// Who is posting where, as a plugin sees it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ember_post_context {
    /// The author.
    pub user_id: ember_uuid,
    /// The room.
    pub room_id: ember_uuid,
    /// The client's id for the post.
    pub client_message_id: ember_uuid,
}

/// The post about to be written, as a plugin sees it. Opaque; valid only during the hook
/// call it is passed to. Read and change it with the `ember_draft_*` functions.
pub struct ember_draft {
    content: CString,
    sound: Option<String>,
    reason: Option<String>,
}

/// `on_post(user_data, ctx, draft)`: returns `EMBER_ACCEPT` or `EMBER_REJECT`.
pub type ember_on_post_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        ctx: *const ember_post_context,
        draft: *mut ember_draft,
    ) -> i32,
>;

/// `on_event(user_data, event)`: `event` is borrowed for the call.
pub type ember_on_event_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const ember_event)>;

/// A command handler: `command` is the name without the slash, `args` the rest of the
/// line, trimmed (both borrowed for the call). Returns an `EMBER_COMMAND_*` value.
pub type ember_command_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        command: *const c_char,
        args: *const c_char,
        ctx: *const ember_post_context,
        draft: *mut ember_draft,
    ) -> i32,
>;

/// A slash command a plugin handles: `/name args`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ember_plugin_command {
    /// The name without the slash (UTF-8), e.g. "shout". Lower-cased when registered:
    /// "Shout" answers `/shout`, `/SHOUT` and `/Shout`, and its handler gets "shout".
    pub name: *const c_char,
    /// Handlers of the same name run from the highest priority down.
    pub priority: i32,
    /// The handler (required).
    pub handler: ember_command_fn,
}

/// A plugin, described by the host. `abi_version` and `struct_size` come first and are
/// checked before anything else is read; the struct only grows at the end.
///
/// libember copies `name` and `commands` at registration. Hooks may be called from
/// several threads at once: `on_post` and command handlers on the posting thread,
/// `on_event` on the engine's plugin thread. They must not unwind (no C++ exceptions).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ember_plugin {
    /// `EMBER_PLUGIN_ABI_VERSION`.
    pub abi_version: u32,
    /// `sizeof(ember_plugin)`.
    pub struct_size: u32,
    /// A short name for errors and logs (UTF-8, not empty).
    pub name: *const c_char,
    /// Passed to every callback; must be usable from any thread.
    pub user_data: *mut c_void,
    /// Called once with `user_data` when the engine closes (may be NULL).
    pub destroy: ember_destroy_fn,
    /// Runs before every post is written, after the command handlers (may be NULL).
    pub on_post: ember_on_post_fn,
    /// Runs after each committed event, off the write path (may be NULL).
    pub on_event: ember_on_event_fn,
    /// `commands_len` commands (NULL when 0).
    pub commands: *const ember_plugin_command,
    /// How many commands.
    pub commands_len: usize,
}

/// The entry point a plugin shared library exports, under the name `ember_plugin_entry`:
///
/// ```c
/// const ember_plugin *ember_plugin_entry(void);
/// ```
///
/// It returns the plugin's description, or NULL when the plugin cannot start (the host then
/// refuses it). The struct, its `name` and `commands` must stay valid until the host has
/// registered it (a `static` is simplest); `user_data` is handed to the engine as with
/// `ember_engine_register_plugin`. The host calls it once per load, on the loading thread.
/// A library loaded this way is never unloaded. It calls the `ember_*` functions of the
/// host process: build it without linking libember (`cc -shared -fPIC`).
pub type ember_plugin_entry_fn = Option<unsafe extern "C" fn() -> *const ember_plugin>;

struct Command {
    name: String,
    priority: i32,
    handler: unsafe extern "C" fn(
        *mut c_void,
        *const c_char,
        *const c_char,
        *const ember_post_context,
        *mut ember_draft,
    ) -> i32,
}

/// The engine-side plugin calling into C.
struct CPlugin {
    name: String,
    user_data: *mut c_void,
    destroy: ember_destroy_fn,
    on_post: ember_on_post_fn,
    on_event: ember_on_event_fn,
    commands: Vec<Command>,
    /// Set once the engine owns the plugin; until then, dropping it leaves user_data alone.
    registered: Arc<AtomicBool>,
}

// SAFETY: `ember_plugin.user_data` is documented as usable from any thread, and the hooks as
// callable from several threads at once.
unsafe impl Send for CPlugin {}
// SAFETY: as above.
unsafe impl Sync for CPlugin {}

impl Drop for CPlugin {
    fn drop(&mut self) {
        if let (true, Some(destroy)) = (self.registered.load(Ordering::Acquire), self.destroy) {
            // SAFETY: the host's destructor for its own user_data, called once.
            unsafe { destroy(self.user_data) };
        }
    }
}

fn context(ctx: &PostContext) -> ember_post_context {
    ember_post_context {
        user_id: ctx.user_id.into(),
        room_id: ctx.room_id.into(),
        client_message_id: ctx.client_message_id.into(),
    }
}

impl ember_draft {
    fn new(draft: &Draft) -> Self {
        ember_draft {
            content: CString::new(draft.content.clone()).unwrap_or_default(),
            sound: draft.sound.clone(),
            reason: None,
        }
    }

    /// Copies the plugin's changes back; returns the rejection reason, if one was set.
    fn apply(self, draft: &mut Draft) -> Option<String> {
        if let Ok(content) = self.content.into_string() {
            draft.content = content;
        }
        draft.sound = self.sound;
        self.reason
    }
}

impl Plugin for CPlugin {
    fn name(&self) -> &str {
        &self.name
    }

    fn on_post(&self, ctx: &PostContext, draft: &mut Draft) -> Decision {
        let Some(on_post) = self.on_post else {
            return Decision::Accept;
        };
        let mut d = ember_draft::new(draft);
        // SAFETY: the host's hook with its own user_data; the pointers live for the call.
        let verdict = unsafe { on_post(self.user_data, &context(ctx), &mut d) };
        let reason = d.apply(draft);
        match verdict {
            EMBER_ACCEPT => Decision::Accept,
            EMBER_REJECT => Decision::Reject(reason.unwrap_or_else(|| "rejected".into())),
            n => Decision::Reject(format!(
                "on_post returned {n}, not EMBER_ACCEPT or EMBER_REJECT"
            )),
        }
    }

    fn wants_events(&self) -> bool {
        self.on_event.is_some()
    }

    fn on_event(&self, event: &Event) {
        if let Some(on_event) = self.on_event {
            let e = ember_event::from_event(event);
            // SAFETY: the host's hook with its own user_data; `e` lives for the call.
            unsafe { on_event(self.user_data, &e) };
        }
    }

    fn commands(&self) -> Vec<CommandSpec> {
        self.commands
            .iter()
            .map(|c| CommandSpec {
                name: c.name.clone(),
                priority: c.priority,
            })
            .collect()
    }

    fn on_command(
        &self,
        command: &str,
        args: &str,
        ctx: &PostContext,
        draft: &mut Draft,
    ) -> CommandOutcome {
        let Some(c) = self
            .commands
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(command))
        else {
            return CommandOutcome::Continue;
        };
        let (Ok(command), Ok(args)) = (CString::new(command), CString::new(args)) else {
            return CommandOutcome::Continue;
        };
        let mut d = ember_draft::new(draft);
        // SAFETY: the host's handler with its own user_data; the pointers live for the call.
        let outcome = unsafe {
            (c.handler)(
                self.user_data,
                command.as_ptr(),
                args.as_ptr(),
                &context(ctx),
                &mut d,
            )
        };
        let reason = d.apply(draft);
        match outcome {
            EMBER_COMMAND_HANDLED => CommandOutcome::Handled,
            EMBER_COMMAND_CONTINUE => CommandOutcome::Continue,
            EMBER_COMMAND_FAILED => {
                CommandOutcome::Failed(reason.unwrap_or_else(|| format!("/{} failed", c.name)))
            }
            n => {
                CommandOutcome::Failed(format!("/{} returned {n}, not an EMBER_COMMAND_*", c.name))
            }
        }
    }
}

/// The smallest `struct_size` of a version-1 plugin.
const PLUGIN_V1_SIZE: usize = size_of::<ember_plugin>();

/// Registers a plugin described by `*plugin`: its commands and hooks apply to every later
/// post. The host first checks `abi_version` (must be `EMBER_PLUGIN_ABI_VERSION`) and
/// `struct_size`, and reads nothing else when they do not match. `*plugin` itself is not
/// kept (name and commands are copied); `user_data` is, until `destroy` is called when the
/// engine closes. On failure `destroy` is not called and `user_data` stays the caller's.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL` (`engine`, `plugin`, `name`, a command's name or
/// handler); `EMBER_ERR_ABI_MISMATCH`; `EMBER_ERR_INVALID_ARGUMENT` (not UTF-8);
/// `EMBER_ERR_VALIDATION` (empty name); `EMBER_ERR_CLOSED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_engine_register_plugin(
    engine: *const ember_engine,
    plugin: *const ember_plugin,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        // SAFETY: `plugin` is NULL or valid for reads (this function's contract).
        unsafe { register(engine, plugin) }
    })
}

/// Checks `*plugin` and registers it with `engine`: the one place a C plugin is validated,
/// for `ember_engine_register_plugin` and for plugins loaded from a shared library.
///
/// # Safety
///
/// `plugin` is NULL or points at a readable `ember_plugin` (at least its two leading
/// fields, and all of it when they check out) whose strings and commands are valid.
pub(crate) unsafe fn register(engine: &Engine, plugin: *const ember_plugin) -> Outcome {
    if plugin.is_null() {
        return Err(Failure::new(ember_status::EMBER_ERR_NULL, "plugin is NULL"));
    }
    // Only the two leading fields are read before they are checked.
    let head = plugin.cast::<[u32; 2]>();
    // SAFETY: a non-NULL plugin points at least at its two leading u32 fields.
    let [abi_version, struct_size] = unsafe { head.read() };
    if abi_version != EMBER_PLUGIN_ABI_VERSION {
        return Err(Failure::new(
            ember_status::EMBER_ERR_ABI_MISMATCH,
            format!(
                "plugin abi_version is {abi_version}; this libember speaks \
                 {EMBER_PLUGIN_ABI_VERSION}"
            ),
        ));
    }
    check_struct_size(
        "ember_plugin",
        struct_size as usize,
        PLUGIN_V1_SIZE,
        size_of::<ember_plugin>(),
    )?;
    let p = arg_ref(plugin, "plugin")?;
    let name = arg_str(p.name, "plugin name")?.to_owned();
    let specs = arg_slice(p.commands, p.commands_len, "plugin commands")?;
    let mut commands = Vec::with_capacity(specs.len());
    for spec in specs {
        let name = arg_str(spec.name, "command name")?;
        let Some(handler) = spec.handler else {
            return Err(Failure::new(
                ember_status::EMBER_ERR_NULL,
                format!("the handler of command {name} is NULL"),
            ));
        };
        commands.push(Command {
            name: name.trim_start_matches('/').to_lowercase(),
            priority: spec.priority,
            handler,
        });
    }
    let registered = Arc::new(AtomicBool::new(false));
    engine.register_plugin(Box::new(CPlugin {
        name,
        user_data: p.user_data,
        destroy: p.destroy,
        on_post: p.on_post,
        on_event: p.on_event,
        commands,
        registered: registered.clone(),
    }))?;
    registered.store(true, Ordering::Release);
    Ok(())
}

/// The draft's content (UTF-8): borrowed, valid until the draft changes or the hook
/// returns.
///
/// Call it only inside the hook that received the draft, on the hook's thread.
/// Errors: `EMBER_ERR_NULL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_draft_content(
    draft: *const ember_draft,
    out: *mut *const c_char,
) -> ember_status {
    guard(|| {
        let draft = arg_ref(draft, "draft")?;
        arg_out(out, "out")?.write(draft.content.as_ptr());
        Ok(())
    })
}

/// Replaces the draft's content (copied). It is validated again after every plugin ran.
///
/// Call it only inside the hook that received the draft, on the hook's thread.
/// Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT` (not UTF-8).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_draft_set_content(
    draft: *mut ember_draft,
    content: *const c_char,
) -> ember_status {
    guard(|| {
        let draft = arg_mut(draft, "draft")?;
        let content = arg_str(content, "content")?;
        draft.content = CString::new(content).unwrap_or_default();
        Ok(())
    })
}

/// Attaches a sound (one of the built-in names; others are dropped), or with NULL removes it.
///
/// Call it only inside the hook that received the draft, on the hook's thread.
/// Errors: `EMBER_ERR_NULL` (`draft`); `EMBER_ERR_INVALID_ARGUMENT` (not UTF-8).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_draft_set_sound(
    draft: *mut ember_draft,
    sound: *const c_char,
) -> ember_status {
    guard(|| {
        let draft = arg_mut(draft, "draft")?;
        draft.sound = match sound.is_null() {
            true => None,
            false => Some(arg_str(sound, "sound")?.to_owned()),
        };
        Ok(())
    })
}

/// Sets the reason given to the poster when the hook returns `EMBER_REJECT` or
/// `EMBER_COMMAND_FAILED` (copied).
///
/// Call it only inside the hook that received the draft, on the hook's thread.
/// Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT` (not UTF-8).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_draft_set_reason(
    draft: *mut ember_draft,
    reason: *const c_char,
) -> ember_status {
    guard(|| {
        let draft = arg_mut(draft, "draft")?;
        draft.reason = Some(arg_str(reason, "reason")?.to_owned());
        Ok(())
    })
}
