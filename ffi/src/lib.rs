//! The C ABI over the Ember engine (`libember`). Not built yet: the C ABI issue adds the
//! functions, the cbindgen header and the C, C++ and Python hosts. This crate exists so that
//! the workspace layout is in place; it exports nothing.

#![warn(missing_docs)]
