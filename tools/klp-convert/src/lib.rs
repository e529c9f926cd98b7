// SPDX-License-Identifier: GPL-2.0
//! klp-convert: turn references to non-exported kernel symbols in a livepatch module into
//! livepatch relocations, as Documentation/livepatch/module-elf-format.rst describes, for
//! s390x and x86_64 modules.

pub mod arch;
pub mod convert;
pub mod error;
pub mod inspect;
pub mod kernel;
