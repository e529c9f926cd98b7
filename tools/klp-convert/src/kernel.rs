// SPDX-License-Identifier: GPL-2.0
//! The kernel side of a conversion: which symbols are exported (Module.symvers) and where the
//! others sit in their object (vmlinux or a module), in the order the livepatch core counts
//! them when it resolves `.klp.sym.<object>.<name>,<sympos>`.

use crate::arch::Arch;
use crate::error::{Error, Result};
use object::elf;
use object::read::{Object, ObjectSection, ObjectSymbol, SectionFlags, SymbolKind, SymbolSection};
use std::collections::HashMap;
use std::fs;
use std::path::Path;

/// One symbol of a target object that a livepatch relocation could name.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Symbol name as in the symbol table.
    pub name: String,
    /// Its address (vmlinux) or value (module).
    pub addr: u64,
    /// Whether it is global (an `extern` can only have bound to a global).
    pub global: bool,
    /// The source file its `STT_FILE` marker names, for locals.
    pub file: Option<String>,
    /// Whether it lies in init text/data, which is freed after boot.
    pub init: bool,
}

/// How the livepatch core numbers same-named symbols of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// vmlinux: `kallsyms_on_each_match_symbol()` walks equal names in address order.
    Address,
    /// A module: `module_kallsyms_on_each_symbol()` walks the module's symbol table in order.
    SymbolTable,
}

/// The symbols of one target object, grouped by name in livepatch position order.
#[derive(Debug)]
pub struct SymbolIndex {
    /// The object name used in `.klp.*` names: `vmlinux` or the module name.
    pub object: String,
    /// The object's architecture.
    pub arch: Arch,
    by_name: HashMap<String, Vec<Entry>>,
}

/// Suffixes GCC and LLVM give to clones of a function or variable.
const CLONE_PARTS: &[&str] = &["constprop", "isra", "part", "cold", "lto_priv", "llvm"];

impl SymbolIndex {
    /// Reads the symbols of vmlinux that kallsyms knows (defined in an allocated section,
    /// not section or file symbols, no local labels).
    pub fn from_vmlinux(path: &Path) -> Result<Self> {
        Self::read(path, "vmlinux".into(), Order::Address)
    }

    /// Reads the symbols of a module (.ko) that its kallsyms table holds.
    pub fn from_module(name: &str, path: &Path) -> Result<Self> {
        if name.is_empty() || name.contains('.') || name.contains(',') {
            return Err(Error::Usage(format!(
                "module name '{name}' cannot be used in .klp names (no '.' or ',')"
            )));
        }
        Self::read(path, name.into(), Order::SymbolTable)
    }

    fn read(path: &Path, object: String, order: Order) -> Result<Self> {
        let data = fs::read(path).map_err(|e| Error::Io(path.into(), e))?;
        let file =
            object::File::parse(&*data).map_err(|e| Error::Elf(path.into(), e.to_string()))?;
        let arch = match file.format() {
            object::BinaryFormat::Elf => machine_of(&data)
                .and_then(Arch::from_machine)
                .ok_or_else(|| {
                    Error::Machine(path.into(), "not an s390x or x86_64 ELF file".into())
                })?,
            _ => return Err(Error::Elf(path.into(), "not ELF".into())),
        };
        let alloc: HashMap<usize, bool> = file
            .sections()
            .map(|s| {
                let a = match s.flags() {
                    SectionFlags::Elf { sh_flags, .. } => sh_flags.contains(elf::SHF_ALLOC),
                    _ => false,
                };
                (s.index().0, a)
            })
            .collect();
        let mut init_ranges = Vec::new();
        if order == Order::Address {
            for (lo, hi) in [("_sinittext", "_einittext"), ("__init_begin", "__init_end")] {
                let find = |n: &str| {
                    file.symbols()
                        .find(|s| s.name() == Ok(n))
                        .map(|s| s.address())
                };
                if let (Some(a), Some(b)) = (find(lo), find(hi)) {
                    init_ranges.push(a..b);
                }
            }
        }
        let mut by_name: HashMap<String, Vec<Entry>> = HashMap::new();
        let mut file_name: Option<String> = None;
        for sym in file.symbols() {
            let Ok(name) = sym.name() else { continue };
            if sym.kind() == SymbolKind::File {
                file_name = Some(name.to_string());
                continue;
            }
            if sym.kind() == SymbolKind::Section || name.is_empty() {
                continue;
            }
            if name.starts_with(".L") || name.starts_with('$') {
                continue;
            }
            let SymbolSection::Section(idx) = sym.section() else {
                continue;
            };
            if !alloc.get(&idx.0).copied().unwrap_or(false) {
                continue;
            }
            let addr = sym.address();
            by_name.entry(name.to_string()).or_default().push(Entry {
                name: name.to_string(),
                addr,
                global: sym.is_global(),
                file: if sym.is_global() {
                    None
                } else {
                    file_name.clone()
                },
                init: init_ranges.iter().any(|r| r.contains(&addr)),
            });
        }
        if order == Order::Address {
            for v in by_name.values_mut() {
                v.sort_by_key(|e| e.addr);
            }
        }
        Ok(SymbolIndex {
            object,
            arch,
            by_name,
        })
    }

    /// The symbols named `name`, in position order (position = index + 1).
    pub fn candidates(&self, name: &str) -> &[Entry] {
        self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Names of compiler clones of `base` (`base.constprop.0`, `base.isra.0`, ...), sorted.
    pub fn clones(&self, base: &str) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .by_name
            .keys()
            .filter(|n| {
                n.strip_prefix(base)
                    .and_then(|r| r.strip_prefix('.'))
                    .is_some_and(is_clone_suffix)
            })
            .map(String::as_str)
            .collect();
        out.sort_unstable();
        out
    }
}

fn is_clone_suffix(rest: &str) -> bool {
    let mut saw_part = false;
    for seg in rest.split('.') {
        if CLONE_PARTS.contains(&seg) {
            saw_part = true;
        } else if seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    saw_part
}

/// `e_machine` of an ELF file, read from the header (both byte orders).
pub fn machine_of(data: &[u8]) -> Option<u16> {
    if data.len() < 20 || &data[..4] != b"\x7fELF" {
        return None;
    }
    let b = [data[18], data[19]];
    Some(if data[5] == elf::ELFDATA2MSB.0 {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

/// Exported symbols: name -> exporting object (`vmlinux` or a module), from Module.symvers.
pub fn read_symvers(path: &Path) -> Result<HashMap<String, String>> {
    let text = fs::read_to_string(path).map_err(|e| Error::Io(path.into(), e))?;
    let mut out = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 4 || !f[0].starts_with("0x") || f[1].is_empty() || f[2].is_empty() {
            return Err(Error::Usage(format!(
                "{}:{}: not a Module.symvers line (CRC, symbol, module, export type, namespace)",
                path.display(),
                n + 1
            )));
        }
        out.insert(f[1].to_string(), f[2].to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_suffixes() {
        assert!(is_clone_suffix("constprop.0"));
        assert!(is_clone_suffix("isra.12"));
        assert!(is_clone_suffix("part.0.constprop.1"));
        assert!(is_clone_suffix("cold"));
        assert!(!is_clone_suffix("0"));
        assert!(!is_clone_suffix("constprop.x"));
        assert!(!is_clone_suffix("other"));
    }

    #[test]
    fn symvers_lines() {
        let dir = std::env::temp_dir().join(format!("klp-symvers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("Module.symvers");
        std::fs::write(&p, "0x00000000\tfoo\tvmlinux\tEXPORT_SYMBOL_GPL\t\n0x1234abcd\tbar\tigb\tEXPORT_SYMBOL\tNS\n").unwrap();
        let m = read_symvers(&p).unwrap();
        assert_eq!(m["foo"], "vmlinux");
        assert_eq!(m["bar"], "igb");
        std::fs::write(&p, "garbage line\n").unwrap();
        assert!(matches!(read_symvers(&p), Err(Error::Usage(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
