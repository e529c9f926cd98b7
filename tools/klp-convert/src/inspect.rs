// SPDX-License-Identifier: GPL-2.0
//! Reading a converted module back with the low-level ELF reader (the builder refuses to
//! re-read allocated relocation sections): the check run on every output, and the listing
//! of `klp-convert show`.

use crate::convert::{Report, KLP_RELA_FLAGS, SHN_LIVEPATCH};
use crate::error::{Error, Result};
use object::elf::{self, FileHeader64, Rela64};
use object::read::elf::{FileHeader, SectionHeader, Sym};
use object::{Endianness, SymbolIndex};

/// One `.klp.rela` section as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KlpSection {
    /// Section name.
    pub name: String,
    /// Name of the section its relocations apply to (`sh_info`).
    pub target: String,
    /// `sh_flags`.
    pub flags: u64,
    /// Whether `sh_link` names the symbol table.
    pub links_symtab: bool,
    /// (relocation type, symbol name, symbol st_shndx) of each entry.
    pub relocs: Vec<(u32, String, u16)>,
}

/// What a module carries for the livepatch core.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Klp {
    /// `.klp.rela.*` sections.
    pub sections: Vec<KlpSection>,
    /// Symbols with `st_shndx == SHN_LIVEPATCH`: (name, binding).
    pub symbols: Vec<(String, u8)>,
    /// Relocations outside `.klp.rela` sections, in loaded sections, against livepatch
    /// symbols: (section, symbol). Must be empty.
    pub stray: Vec<(String, String)>,
    /// Undefined symbols left (names).
    pub undefined: Vec<String>,
}

fn err(e: object::read::Error) -> Error {
    Error::Verify(e.to_string())
}

/// Reads the livepatch-relevant parts of a relocatable ELF image.
pub fn read(data: &[u8]) -> Result<Klp> {
    let hdr = FileHeader64::<Endianness>::parse(data).map_err(err)?;
    let endian = hdr.endian().map_err(err)?;
    let sections = hdr.sections(endian, data).map_err(err)?;
    let symtab = sections
        .symbols(endian, data, elf::SHT_SYMTAB)
        .map_err(err)?;
    let symtab_index = symtab.section().0 as u32;
    let sym_name = |i: usize| -> Result<(String, u16)> {
        let s = symtab.symbol(SymbolIndex(i)).map_err(err)?;
        let n = symtab.symbol_name(endian, s).map_err(err)?;
        Ok((
            String::from_utf8_lossy(n).into_owned(),
            s.st_shndx(endian).0,
        ))
    };
    let sec_name = |i: u32| -> String {
        sections
            .section(object::SectionIndex(i as usize))
            .ok()
            .and_then(|s| sections.section_name(endian, s).ok())
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default()
    };
    let mut klp = Klp::default();
    for s in symtab.symbols() {
        let n = String::from_utf8_lossy(symtab.symbol_name(endian, s).map_err(err)?).into_owned();
        if s.st_shndx(endian).0 == SHN_LIVEPATCH {
            klp.symbols.push((n, s.st_bind().0));
        } else if s.st_shndx(endian) == elf::SHN_UNDEF && !n.is_empty() {
            klp.undefined.push(n);
        }
    }
    for (i, sec) in sections.iter().enumerate() {
        if sec.sh_type(endian) != elf::SHT_RELA {
            continue;
        }
        let name = sec_name(i as u32);
        let target = sections
            .section(object::SectionIndex(sec.sh_info(endian) as usize))
            .map_err(err)?;
        let target_alloc = target.sh_flags(endian).contains(elf::SHF_ALLOC);
        let rels: &[Rela64<Endianness>] = sec
            .data_as_array(endian, data)
            .map_err(|_| Error::Verify(format!("{name}: relocation data out of bounds")))?;
        let mut relocs = Vec::new();
        for r in rels {
            let (sn, shndx) = sym_name(r.r_sym(endian, false) as usize)?;
            if name.starts_with(".klp.rela.") {
                relocs.push((r.r_type(endian, false).0, sn, shndx));
            } else if target_alloc && shndx == SHN_LIVEPATCH {
                klp.stray.push((name.clone(), sn));
            }
        }
        if name.starts_with(".klp.rela.") {
            klp.sections.push(KlpSection {
                name,
                target: sec_name(sec.sh_info(endian)),
                flags: sec.sh_flags(endian).0,
                links_symtab: sec.sh_link(endian) == symtab_index,
                relocs,
            });
        }
    }
    Ok(klp)
}

/// Checks a converted image against what the conversion reported.
pub fn verify(data: &[u8], report: &Report) -> Result<()> {
    let klp = read(data)?;
    for s in &klp.sections {
        if s.flags & KLP_RELA_FLAGS != KLP_RELA_FLAGS {
            return Err(Error::Verify(format!("{}: flags {:#x}", s.name, s.flags)));
        }
        if !s.links_symtab {
            return Err(Error::Verify(format!(
                "{}: sh_link is not the symbol table",
                s.name
            )));
        }
        for (_, sym, shndx) in &s.relocs {
            if *shndx != SHN_LIVEPATCH || !sym.starts_with(".klp.sym.") {
                return Err(Error::Verify(format!(
                    "{}: relocation against non-livepatch symbol '{sym}'",
                    s.name
                )));
            }
        }
    }
    if let Some((sec, sym)) = klp.stray.first() {
        return Err(Error::Verify(format!(
            "{sec}: ordinary relocation against livepatch symbol '{sym}'"
        )));
    }
    for r in &report.symbols {
        if !klp.symbols.iter().any(|(n, _)| *n == r.klp_name()) {
            return Err(Error::Verify(format!("symbol {} missing", r.klp_name())));
        }
        if klp.undefined.contains(&r.orig) {
            return Err(Error::Verify(format!("'{}' still undefined", r.orig)));
        }
    }
    let want: Vec<&(String, usize)> = report.sections.iter().collect();
    let got: Vec<(String, usize)> = klp
        .sections
        .iter()
        .map(|s| (s.name.clone(), s.relocs.len()))
        .collect();
    if want.len() != got.len() || want.iter().zip(&got).any(|(a, b)| *a != b) {
        return Err(Error::Verify(format!(
            "klp sections {got:?}, expected {want:?}"
        )));
    }
    Ok(())
}
