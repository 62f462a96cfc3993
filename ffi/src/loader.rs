//! Loading C plugins from shared libraries, for Rust hosts such as `ember-server`.

use std::ffi::c_void;
use std::path::{Path, PathBuf};

use ::ember_engine::Engine;
use libloading::Library;

use crate::plugins::{ember_plugin, register};
use crate::status::ember_status;
use crate::{ids, plugins, status};

/// The symbol a plugin library exports; see [`ember_plugin_entry_fn`](crate::ember_plugin_entry_fn).
const ENTRY: &[u8] = b"ember_plugin_entry\0";

/// Why [`load_plugin`] refused a library. Every message names the library's path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// There is no file at the path.
    #[error("plugin {}: no such file", path.display())]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The file could not be loaded as a shared library (not one, wrong architecture, or a
    /// symbol it needs is missing).
    #[error("plugin {}: not a loadable shared library: {reason}", path.display())]
    NotALibrary {
        /// The path given.
        path: PathBuf,
        /// What the dynamic loader said.
        reason: String,
    },
    /// The library does not export `ember_plugin_entry`.
    #[error("plugin {}: no ember_plugin_entry symbol: {reason}", path.display())]
    MissingEntry {
        /// The path given.
        path: PathBuf,
        /// What the dynamic loader said.
        reason: String,
    },
    /// `ember_plugin_entry` returned NULL.
    #[error("plugin {}: ember_plugin_entry returned NULL", path.display())]
    NullPlugin {
        /// The path given.
        path: PathBuf,
    },
    /// The plugin was built for another plugin ABI (`abi_version` or `struct_size`).
    #[error("plugin {}: ABI mismatch: {message}", path.display())]
    AbiMismatch {
        /// The path given.
        path: PathBuf,
        /// What was expected.
        message: String,
    },
    /// The engine refused the plugin (a NULL or invalid field, the engine is closed, ...).
    #[error("plugin {}: refused ({status:?}): {message}", path.display())]
    Refused {
        /// The path given.
        path: PathBuf,
        /// What `ember_engine_register_plugin` would have returned.
        status: ember_status,
        /// Why.
        message: String,
    },
}

/// Loads the C plugin in the shared library at `path` and registers it with `engine`: opens
/// the library (binding every symbol now, so a missing one is an error here rather than a
/// crash later), calls its `ember_plugin_entry`, and checks and registers the returned
/// `ember_plugin` exactly as `ember_engine_register_plugin` does.
///
/// Once its entry point has run, the library stays loaded for the life of the process,
/// even after the engine closes or when the plugin is then refused: the engine may call the
/// plugin's hooks and its `destroy` until it closes, so plugins are never unloaded. On
/// failure nothing was registered.
///
/// The plugin calls libember (`ember_draft_*` and the like) through the host executable:
/// the host must export its `ember_*` symbols, e.g. by linking with
/// `-Wl,--export-dynamic-symbol=ember_*` as `ember-server` does. A plugin must not link
/// `libember.so` itself, which would give it a second, unrelated copy of libember.
///
/// Running a library's code is trusting it: load only plugins you would link into the host.
pub fn load_plugin(engine: &Engine, path: &Path) -> Result<(), LoadError> {
    keep_plugin_api_linked();
    if !path.is_file() {
        return Err(LoadError::NotFound { path: path.into() });
    }
    let library = open(path).map_err(|e| LoadError::NotALibrary {
        path: path.into(),
        reason: e.to_string(),
    })?;
    // SAFETY: `ember_plugin_entry` is documented to have this signature.
    let entry = *unsafe { library.get::<unsafe extern "C" fn() -> *const ember_plugin>(ENTRY) }
        .map_err(|e| LoadError::MissingEntry {
            path: path.into(),
            reason: e.to_string(),
        })?;
    // Deliberately leaked from here on: once the entry point has run, the plugin's code and
    // data may be in use (by the engine, or by whatever the entry point started).
    std::mem::forget(library);
    // SAFETY: the plugin's own entry point, called as documented; its library stays loaded.
    let plugin = unsafe { entry() };
    if plugin.is_null() {
        return Err(LoadError::NullPlugin { path: path.into() });
    }
    // SAFETY: the entry point returns a valid `ember_plugin` or NULL (checked above).
    unsafe { register(engine, plugin) }.map_err(|f| match f.status {
        ember_status::EMBER_ERR_ABI_MISMATCH => LoadError::AbiMismatch {
            path: path.into(),
            message: f.message,
        },
        status => LoadError::Refused {
            path: path.into(),
            status,
            message: f.message,
        },
    })?;
    Ok(())
}

#[cfg(unix)]
fn open(path: &Path) -> Result<Library, libloading::Error> {
    use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
    // An absolute path, so that the dynamic loader does not search its library path.
    let path = std::path::absolute(path).unwrap_or_else(|_| path.into());
    // SAFETY: running the library's initialisers; loading it is the caller's decision.
    unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map(Into::into)
}

#[cfg(not(unix))]
fn open(path: &Path) -> Result<Library, libloading::Error> {
    // SAFETY: as above.
    unsafe { Library::new(path) }
}

/// The functions a plugin may call from its hooks. Referencing them here makes the linker
/// keep them in every host that can load plugins, so that they can be exported to it.
struct PluginApi([*const c_void; 12]);

// SAFETY: a table of function addresses, never written.
unsafe impl Sync for PluginApi {}

static PLUGIN_API: PluginApi = PluginApi([
    plugins::ember_draft_content as *const c_void,
    plugins::ember_draft_set_content as *const c_void,
    plugins::ember_draft_set_sound as *const c_void,
    plugins::ember_draft_set_reason as *const c_void,
    status::ember_last_error as *const c_void,
    status::ember_last_status as *const c_void,
    status::ember_last_retry_after_ms as *const c_void,
    status::ember_status_name as *const c_void,
    ids::ember_uuid_new as *const c_void,
    ids::ember_uuid_parse as *const c_void,
    ids::ember_uuid_format as *const c_void,
    ids::ember_uuid_equal as *const c_void,
]);

fn keep_plugin_api_linked() {
    std::hint::black_box(&PLUGIN_API.0);
}
