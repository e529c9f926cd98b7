// SPDX-License-Identifier: GPL-2.0
//! Errors of klp-convert: each one names what is wrong and, where it helps, what to do.

use std::fmt;
use std::path::PathBuf;

/// Everything that stops a conversion.
#[derive(Debug)]
pub enum Error {
    /// A bad command line.
    Usage(String),
    /// A file could not be read or written.
    Io(PathBuf, std::io::Error),
    /// A file is not an ELF file the tool can parse.
    Elf(PathBuf, String),
    /// The input is not a relocatable object.
    NotRelocatable(PathBuf),
    /// The input is for a machine the tool does not handle, or not the one expected.
    Machine(PathBuf, String),
    /// A symbol is neither exported nor present in the target object.
    NotFound { name: String, object: String },
    /// Several symbols match a name and nothing says which one.
    Ambiguous {
        name: String,
        object: String,
        candidates: Vec<String>,
    },
    /// A requested position or file does not exist among the candidates.
    BadPosition {
        name: String,
        object: String,
        detail: String,
    },
    /// A relocation type the target architecture's module loader cannot apply.
    Relocation {
        section: String,
        offset: u64,
        r_type: u32,
        arch: &'static str,
        symbol: String,
    },
    /// A conversion the target architecture cannot do safely.
    Unsafe(String),
    /// The converted output did not read back as expected.
    Verify(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}"),
            Error::Io(p, e) => write!(f, "{}: {e}", p.display()),
            Error::Elf(p, m) => write!(f, "{}: not a usable ELF file: {m}", p.display()),
            Error::NotRelocatable(p) => write!(
                f,
                "{}: not a relocatable object (ET_REL); give the module's .o or .ko",
                p.display()
            ),
            Error::Machine(p, m) => write!(f, "{}: {m}", p.display()),
            Error::NotFound { name, object } => write!(
                f,
                "symbol '{name}' is not exported and not found in {object} (also tried compiler clones {name}.constprop.N, .isra.N, .part.N)"
            ),
            Error::Ambiguous { name, object, candidates } => write!(
                f,
                "symbol '{name}' is ambiguous in {object}; choose one with --sym {name}=POS or --sym {name}@FILE:\n  {}",
                candidates.join("\n  ")
            ),
            Error::BadPosition { name, object, detail } => {
                write!(f, "symbol '{name}' in {object}: {detail}")
            }
            Error::Relocation { section, offset, r_type, arch, symbol } => write!(
                f,
                "{section}+{offset:#x}: relocation type {r_type} against '{symbol}' cannot be applied by the {arch} module loader"
            ),
            Error::Unsafe(m) => write!(f, "{m}"),
            Error::Verify(m) => write!(f, "output check failed: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Several errors found in one pass, reported together.
#[derive(Debug)]
pub struct Errors(pub Vec<Error>);

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
