//! What became of the registered plugins.

use std::ffi::c_char;

use ::ember_engine::PluginStatus;

use crate::boundary::{
    arg_out, c_string, c_string_opt, free_box, free_c_string, free_raw_slice, guard, guard_value,
    into_raw_slice,
};
use crate::engine::ember_engine;
use crate::handles::arg_engine;
use crate::status::ember_status;

/// A registered plugin and whether it still runs. Belongs to its list.
#[repr(C)]
#[derive(Debug)]
pub struct ember_plugin_status {
    /// The plugin's name (UTF-8, never NULL).
    pub name: *mut c_char,
    /// False once the plugin was disabled because one of its hooks panicked inside libember;
    /// a disabled plugin is skipped.
    pub enabled: bool,
    /// What the panic said (UTF-8), or NULL while the plugin is enabled.
    pub fault: *mut c_char,
}

impl From<PluginStatus> for ember_plugin_status {
    fn from(p: PluginStatus) -> Self {
        ember_plugin_status {
            name: c_string(p.name),
            enabled: p.enabled,
            fault: c_string_opt(p.fault),
        }
    }
}

impl Drop for ember_plugin_status {
    fn drop(&mut self) {
        free_c_string(self.name);
        free_c_string(self.fault);
    }
}

/// The registered plugins, in registration order. Free with
/// `ember_plugin_status_list_free`.
#[repr(C)]
#[derive(Debug)]
pub struct ember_plugin_status_list {
    /// `len` statuses (NULL when `len` is 0).
    pub items: *mut ember_plugin_status,
    /// How many.
    pub len: usize,
}

impl Drop for ember_plugin_status_list {
    fn drop(&mut self) {
        free_raw_slice(self.items, self.len);
    }
}

/// Every registered plugin (the built-in sounds plugin included when enabled) with whether
/// it still runs. On success `*out` is owned by the caller (`ember_plugin_status_list_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_engine_plugins(
    engine: *const ember_engine,
    out: *mut *mut ember_plugin_status_list,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        let statuses = engine.plugins();
        let (items, len) = into_raw_slice(statuses.into_iter().map(Into::into).collect());
        out.write(Box::into_raw(Box::new(ember_plugin_status_list {
            items,
            len,
        })));
        Ok(())
    })
}

/// Frees a plugin status list with its strings. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_plugin_status_list_free(list: *mut ember_plugin_status_list) {
    guard_value((), || free_box(list))
}
