// SPDX-License-Identifier: GPL-2.0
//! The conversion: undefined, non-exported symbols of a livepatch module become livepatch
//! symbols (`.klp.sym.<object>.<name>,<sympos>`, `st_shndx = SHN_LIVEPATCH`) and every
//! relocation against them moves into a `.klp.rela.<object>.<section>` section
//! (Documentation/livepatch/module-elf-format.rst).

use crate::arch::Arch;
use crate::error::{Error, Errors, Result};
use crate::kernel::{machine_of, read_symvers, Entry, SymbolIndex};
use object::build::elf::{Builder, SectionData, SectionId, SymbolId};
use object::build::Id;
use object::elf;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

/// `SHF_RELA_LIVEPATCH` (include/uapi/linux/elf.h).
pub const SHF_RELA_LIVEPATCH: u64 = 0x0010_0000;
/// `SHN_LIVEPATCH` (include/uapi/linux/elf.h).
pub const SHN_LIVEPATCH: u16 = 0xff20;
/// Flags of a `.klp.rela` section: `SHF_ALLOC | SHF_INFO_LINK | SHF_RELA_LIVEPATCH`.
pub const KLP_RELA_FLAGS: u64 = 0x2 | 0x40 | SHF_RELA_LIVEPATCH;

/// How the user picks one of several same-named symbols.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// `--sym NAME=POS`: the position the livepatch core counts (1-based; 0 = must be unique).
    Pos(String, u64),
    /// `--sym NAME@FILE`: the local symbol defined in that source file.
    File(String, String),
}

impl Choice {
    /// Parses `NAME=POS` or `NAME@FILE`.
    pub fn parse(s: &str) -> Result<Choice> {
        if let Some((n, p)) = s.split_once('=') {
            let pos = p
                .parse()
                .map_err(|_| Error::Usage(format!("--sym {s}: position '{p}' is not a number")))?;
            if n.is_empty() {
                return Err(Error::Usage(format!("--sym {s}: empty symbol name")));
            }
            return Ok(Choice::Pos(n.into(), pos));
        }
        if let Some((n, f)) = s.split_once('@') {
            if n.is_empty() || f.is_empty() {
                return Err(Error::Usage(format!("--sym {s}: want NAME@FILE")));
            }
            return Ok(Choice::File(n.into(), f.into()));
        }
        Err(Error::Usage(format!(
            "--sym {s}: want NAME=POS or NAME@FILE"
        )))
    }

    fn name(&self) -> &str {
        match self {
            Choice::Pos(n, _) | Choice::File(n, _) => n,
        }
    }
}

/// What the conversion works against.
#[derive(Debug, Default)]
pub struct Options {
    /// The target vmlinux (its symbol table).
    pub vmlinux: PathBuf,
    /// Module.symvers of the kernel build (default: next to vmlinux).
    pub symvers: Option<PathBuf>,
    /// Modules whose non-exported symbols may be referenced: (name, path to .ko).
    pub modules: Vec<(String, PathBuf)>,
    /// Explicit choices among same-named symbols.
    pub choices: Vec<Choice>,
    /// `--unchecked-sym NAME,POS`: write `.klp.sym.vmlinux.NAME,POS` without looking it up.
    /// Only for testing the kernel's refusal of an unresolvable livepatch symbol.
    pub unchecked: Vec<(String, u64)>,
}

/// One symbol the module needs from a target object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The name the module refers to.
    pub orig: String,
    /// The target object (`vmlinux` or a module name).
    pub object: String,
    /// The symbol's name in the target (a compiler clone's name when it was mapped to one).
    pub name: String,
    /// Its position among same-named symbols (0 = unique).
    pub sympos: u64,
}

impl Resolved {
    /// The livepatch symbol name, `.klp.sym.<object>.<name>,<sympos>`.
    pub fn klp_name(&self) -> String {
        format!(".klp.sym.{}.{},{}", self.object, self.name, self.sympos)
    }
}

/// What a conversion did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The input already carried livepatch relocations and was left as it was.
    pub already_converted: bool,
    /// The symbols converted.
    pub symbols: Vec<Resolved>,
    /// `.klp.rela` sections written: (name, number of relocations).
    pub sections: Vec<(String, usize)>,
}

/// The kernel-side facts a conversion needs, loaded once.
pub struct Targets {
    arch: Arch,
    exported: HashMap<String, String>,
    indexes: Vec<SymbolIndex>,
}

impl Targets {
    /// Loads vmlinux, Module.symvers and the named modules, and checks they match `arch`.
    pub fn load(opts: &Options, arch: Arch) -> Result<Targets> {
        let symvers = opts
            .symvers
            .clone()
            .unwrap_or_else(|| opts.vmlinux.with_file_name("Module.symvers"));
        let exported = read_symvers(&symvers)?;
        let mut indexes = vec![SymbolIndex::from_vmlinux(&opts.vmlinux)?];
        for (name, path) in &opts.modules {
            indexes.push(SymbolIndex::from_module(name, path)?);
        }
        for (i, idx) in indexes.iter().enumerate() {
            if idx.arch != arch {
                let path = if i == 0 {
                    &opts.vmlinux
                } else {
                    &opts.modules[i - 1].1
                };
                return Err(Error::Machine(
                    path.clone(),
                    format!("is {} but the module is {}", idx.arch.name(), arch.name()),
                ));
            }
        }
        Ok(Targets {
            arch,
            exported,
            indexes,
        })
    }

    /// Resolves one undefined symbol of the module, or says why it cannot.
    /// `Ok(None)`: exported, so an ordinary relocation that the module loader resolves.
    pub fn resolve(&self, name: &str, opts: &Options) -> Result<Option<Resolved>> {
        if self.exported.contains_key(name) {
            return Ok(None);
        }
        if let Some((_, pos)) = opts.unchecked.iter().find(|(n, _)| n == name) {
            return Ok(Some(Resolved {
                orig: name.into(),
                object: "vmlinux".into(),
                name: name.into(),
                sympos: *pos,
            }));
        }
        let choice = opts.choices.iter().find(|c| c.name() == name);
        for idx in &self.indexes {
            let exact = idx.candidates(name);
            let (target, entries) = if !exact.is_empty() {
                (name.to_string(), exact)
            } else {
                match idx.clones(name).as_slice() {
                    [] => continue,
                    [one] => (one.to_string(), idx.candidates(one)),
                    many => {
                        return Err(Error::Ambiguous {
                            name: name.into(),
                            object: idx.object.clone(),
                            candidates: many
                                .iter()
                                .map(|c| {
                                    format!(
                                        "compiler clone {c}: write the patch against it by name"
                                    )
                                })
                                .collect(),
                        })
                    }
                }
            };
            if idx.object != "vmlinux" && !self.arch.module_targets_safe() {
                return Err(Error::Unsafe(format!(
                    "symbol '{name}' lives in module {}: livepatch relocations into modules are unsafe on {} (no clear_relocate_add(), a GOT slot would keep a stale address after the module reloads); only vmlinux targets are allowed",
                    idx.object,
                    self.arch.name()
                )));
            }
            let sympos = pick(&target, &idx.object, entries, choice)?;
            return Ok(Some(Resolved {
                orig: name.into(),
                object: idx.object.clone(),
                name: target,
                sympos,
            }));
        }
        Err(Error::NotFound {
            name: name.into(),
            object: self.objects(),
        })
    }

    fn objects(&self) -> String {
        self.indexes
            .iter()
            .map(|i| i.object.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn describe(i: usize, e: &Entry) -> String {
    format!(
        "pos {}: {:#x} {}{}",
        i + 1,
        e.addr,
        if e.global { "global" } else { "local" },
        e.file
            .as_deref()
            .map(|f| format!(" in {f}"))
            .unwrap_or_default()
    )
}

/// The livepatch position of the chosen entry among `entries` (same name, position order).
fn pick(name: &str, object: &str, entries: &[Entry], choice: Option<&Choice>) -> Result<u64> {
    let bad = |detail: String| Error::BadPosition {
        name: name.into(),
        object: object.into(),
        detail,
    };
    let index = match choice {
        Some(Choice::Pos(_, p)) => {
            let p = *p as usize;
            if p == 0 && entries.len() == 1 {
                0
            } else if p >= 1 && p <= entries.len() {
                p - 1
            } else {
                return Err(bad(format!(
                    "no position {p}: there {} {} (1..={})",
                    if entries.len() == 1 { "is" } else { "are" },
                    entries.len(),
                    entries.len()
                )));
            }
        }
        Some(Choice::File(_, f)) => {
            let hits: Vec<usize> = (0..entries.len())
                .filter(|&i| {
                    entries[i]
                        .file
                        .as_deref()
                        .is_some_and(|x| x == f || x.ends_with(&format!("/{f}")))
                })
                .collect();
            match hits.as_slice() {
                [one] => *one,
                [] => return Err(bad(format!("none is defined in '{f}'"))),
                _ => return Err(bad(format!("several are defined in '{f}'; use NAME=POS"))),
            }
        }
        None if entries.len() == 1 => 0,
        None => {
            let globals: Vec<usize> = (0..entries.len()).filter(|&i| entries[i].global).collect();
            match globals.as_slice() {
                [one] => *one,
                _ => {
                    return Err(Error::Ambiguous {
                        name: name.into(),
                        object: object.into(),
                        candidates: entries
                            .iter()
                            .enumerate()
                            .map(|(i, e)| describe(i, e))
                            .collect(),
                    })
                }
            }
        }
    };
    if entries[index].init {
        return Err(bad(
            "it is in init text/data, which the kernel frees after boot".into(),
        ));
    }
    Ok(if entries.len() == 1 {
        0
    } else {
        index as u64 + 1
    })
}

/// Reads a file.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::Io(path.into(), e))
}

/// Checks that `data` is a 64-bit relocatable ELF object for a supported machine.
pub fn check_input(path: &Path, data: &[u8]) -> Result<Arch> {
    if data.len() < 64 || &data[..4] != b"\x7fELF" {
        return Err(Error::Elf(path.into(), "no ELF header".into()));
    }
    if data[4] != elf::ELFCLASS64.0 {
        return Err(Error::Machine(
            path.into(),
            "not a 64-bit ELF object".into(),
        ));
    }
    let e_type = if data[5] == elf::ELFDATA2MSB.0 {
        u16::from_be_bytes([data[16], data[17]])
    } else {
        u16::from_le_bytes([data[16], data[17]])
    };
    if e_type != elf::ET_REL.0 {
        return Err(Error::NotRelocatable(path.into()));
    }
    let m = machine_of(data).unwrap_or(0);
    Arch::from_machine(m).ok_or_else(|| {
        Error::Machine(
            path.into(),
            format!("machine {m} is not supported (s390x = 22, x86_64 = 62)"),
        )
    })
}

fn has_klp_sections(path: &Path, data: &[u8]) -> Result<bool> {
    use object::read::{Object, ObjectSection};
    let file = object::File::parse(data).map_err(|e| Error::Elf(path.into(), e.to_string()))?;
    Ok(file
        .sections()
        .any(|s| s.name().is_ok_and(|n| n.starts_with(".klp.rela."))))
}

/// Symbols a module's linked `.o` leaves undefined that modpost's generated `.mod.c` defines.
const DEFINED_BY_MODPOST: &[&str] = &["__this_module"];

/// Undefined, non-local, named symbols of a module: (id, name).
fn undefined(b: &Builder<'_>) -> Vec<(SymbolId, String)> {
    b.symbols
        .iter()
        .filter(|s| {
            s.section.is_none()
                && s.st_shndx == elf::SHN_UNDEF
                && !s.name.is_empty()
                && s.st_bind() != elf::STB_LOCAL
                && !DEFINED_BY_MODPOST.contains(&&*String::from_utf8_lossy(&s.name))
        })
        .map(|s| (s.id(), String::from_utf8_lossy(&s.name).into_owned()))
        .collect()
}

/// `SHT_LLVM_ADDRSIG`: clang's (and rustc's) address-significance table, a list of symbol
/// indices for the linker's identical code folding.
const SHT_LLVM_ADDRSIG: u32 = 0x6fff_4c03;

/// `data` as the ELF builder can read it: a module built by clang (the KASAN kernels) carries a
/// `.llvm_addrsig` section, whose type the builder does not know. Its type is made
/// `SHT_PROGBITS` in a copy (the section is dropped before writing, [`clang_fixups`]); other
/// files are returned as they are.
fn readable(data: &[u8]) -> Cow<'_, [u8]> {
    // ELF64 only (the kernel's modules): e_shoff at 0x28, e_shentsize at 0x3a, e_shnum at 0x3c.
    if data.len() < 0x40 || data[..4] != *b"\x7fELF" || data[4] != 2 {
        return Cow::Borrowed(data);
    }
    let big = data[5] == 2;
    let u16_at = |o: usize| {
        let b = [data[o], data[o + 1]];
        usize::from(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let mut off = [0u8; 8];
    off.copy_from_slice(&data[0x28..0x30]);
    let shoff = if big {
        u64::from_be_bytes(off)
    } else {
        u64::from_le_bytes(off)
    };
    let (Ok(shoff), entsize, num) = (usize::try_from(shoff), u16_at(0x3a), u16_at(0x3c)) else {
        return Cow::Borrowed(data);
    };
    let mut out = Cow::Borrowed(data);
    for i in 0..num {
        let at = shoff + i * entsize + 4; // sh_type
        let Some(t) = data.get(at..at + 4) else {
            break;
        };
        let t = [t[0], t[1], t[2], t[3]];
        let ty = if big {
            u32::from_be_bytes(t)
        } else {
            u32::from_le_bytes(t)
        };
        if ty == SHT_LLVM_ADDRSIG {
            let new = if big {
                elf::SHT_PROGBITS.0.to_be_bytes()
            } else {
                elf::SHT_PROGBITS.0.to_le_bytes()
            };
            out.to_mut()[at..at + 4].copy_from_slice(&new);
        }
    }
    out
}

/// What clang's objects need before they can be written again: the `.llvm_addrsig` sections
/// [`readable`] let through are dropped (their symbol indices would be stale once the symbol
/// table is rewritten, and only a linker folding code reads them), and where section names
/// share the symbols' string table (`.strtab`, as clang writes it) they get a `.shstrtab` of
/// their own, which the builder needs to write the file.
fn clang_fixups(b: &mut Builder<'_>) {
    for s in b.sections.iter_mut() {
        if s.name.as_slice() == b".llvm_addrsig" {
            s.delete = true;
        }
    }
    if !b
        .sections
        .iter()
        .any(|s| matches!(s.data, SectionData::SectionString))
    {
        let s = b.sections.add();
        s.name = b".shstrtab"[..].into();
        s.sh_type = elf::SHT_STRTAB;
        s.sh_addralign = 1;
        s.data = SectionData::SectionString;
    }
}

/// The symbols a module needs from its target objects: what `convert` would do, without
/// writing. Works on the linked `.o` (before modpost) as well as on the `.ko`.
pub fn plan(input: &Path, opts: &Options) -> std::result::Result<(Arch, Vec<Resolved>), Errors> {
    let data = read(input).map_err(|e| Errors(vec![e]))?;
    let arch = check_input(input, &data).map_err(|e| Errors(vec![e]))?;
    let data = readable(&data);
    let b =
        Builder::read(&*data).map_err(|e| Errors(vec![Error::Elf(input.into(), e.to_string())]))?;
    let targets = Targets::load(opts, arch).map_err(|e| Errors(vec![e]))?;
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for (_, name) in undefined(&b) {
        match targets.resolve(&name, opts) {
            Ok(Some(r)) => out.push(r),
            Ok(None) => {}
            Err(e) => errs.push(e),
        }
    }
    if errs.is_empty() {
        Ok((arch, out))
    } else {
        Err(Errors(errs))
    }
}

/// Converts `input` into `output` (the same path is fine: written atomically).
pub fn convert(input: &Path, output: &Path, opts: &Options) -> std::result::Result<Report, Errors> {
    let one = |e: Error| Errors(vec![e]);
    let data = read(input).map_err(one)?;
    let arch = check_input(input, &data).map_err(one)?;
    if has_klp_sections(input, &data).map_err(one)? {
        if input != output {
            fs::write(output, &data).map_err(|e| one(Error::Io(output.into(), e)))?;
        }
        return Ok(Report {
            already_converted: true,
            ..Report::default()
        });
    }
    let data = readable(&data);
    let mut b = Builder::read(&*data).map_err(|e| one(Error::Elf(input.into(), e.to_string())))?;
    clang_fixups(&mut b);
    let targets = Targets::load(opts, arch).map_err(one)?;

    // 1. Resolve every undefined symbol that the kernel does not export.
    let mut errs = Vec::new();
    let mut conv: HashMap<usize, (SymbolId, Resolved)> = HashMap::new();
    for (id, name) in undefined(&b) {
        match targets.resolve(&name, opts) {
            Ok(Some(r)) => {
                conv.insert(id.index(), (id, r));
            }
            Ok(None) => {}
            Err(e) => errs.push(e),
        }
    }
    if !errs.is_empty() {
        return Err(Errors(errs));
    }
    if conv.is_empty() {
        // Nothing to convert: the module is left byte for byte as it is.
        if input != output {
            fs::write(output, &data).map_err(|e| one(Error::Io(output.into(), e)))?;
        }
        return Ok(Report::default());
    }

    // 2. Move the relocations against them into one .klp.rela section per (object, target).
    let symtab = b
        .sections
        .iter()
        .find(|s| s.sh_type == elf::SHT_SYMTAB)
        .map(|s| s.id())
        .ok_or_else(|| one(Error::Elf(input.into(), "no symbol table".into())))?;
    let info: HashMap<usize, (String, bool)> = b
        .sections
        .iter()
        .map(|s| {
            (
                s.id().index(),
                (String::from_utf8_lossy(&s.name).into_owned(), s.is_alloc()),
            )
        })
        .collect();
    let sym_name = |id: SymbolId| {
        conv.get(&id.index())
            .map(|r| r.1.orig.clone())
            .unwrap_or_default()
    };
    let mut moved: BTreeMap<(String, String), (SectionId, Vec<object::build::elf::Relocation>)> =
        BTreeMap::new();
    for sec in b.sections.iter_mut() {
        let Some(target) = sec.sh_info_section else {
            continue;
        };
        let (tname, talloc) = info[&target.index()].clone();
        let is_rela = sec.sh_type == elf::SHT_RELA;
        let sname = String::from_utf8_lossy(&sec.name).into_owned();
        let SectionData::Relocation(rels) = &mut sec.data else {
            continue;
        };
        if !talloc {
            continue; // the loader never applies relocations to sections it does not load
        }
        let mut keep = Vec::with_capacity(rels.len());
        for r in rels.drain(..) {
            let Some((_, res)) = r.symbol.and_then(|s| conv.get(&s.index())) else {
                keep.push(r);
                continue;
            };
            if !is_rela || !arch.loader_applies(r.r_type.0) {
                errs.push(Error::Relocation {
                    section: sname.clone(),
                    offset: r.r_offset,
                    r_type: r.r_type.0,
                    arch: arch.name(),
                    symbol: sym_name(r.symbol.unwrap()),
                });
                continue;
            }
            moved
                .entry((res.object.clone(), tname.clone()))
                .or_insert_with(|| (target, Vec::new()))
                .1
                .push(r);
        }
        *rels = keep;
    }
    if !errs.is_empty() {
        return Err(Errors(errs));
    }
    let mut report = Report::default();
    for ((object, tname), (target, rels)) in moved {
        let name = format!(".klp.rela.{object}.{tname}");
        report.sections.push((name.clone(), rels.len()));
        let s = b.sections.add();
        s.name = name.into_bytes().into();
        s.sh_type = elf::SHT_RELA;
        s.sh_flags = elf::SectionFlags(KLP_RELA_FLAGS);
        s.sh_link_section = Some(symtab);
        s.sh_info_section = Some(target);
        s.sh_addralign = 8;
        s.sh_entsize = 24;
        s.data = SectionData::Relocation(rels);
    }

    // 3. Rename the symbols and mark them SHN_LIVEPATCH.
    for (id, r) in conv.values() {
        let s = b.symbols.get_mut(*id);
        s.name = r.klp_name().into_bytes().into();
        s.section = None;
        s.st_shndx = elf::SymbolSection(SHN_LIVEPATCH);
    }
    report.symbols = conv.into_values().map(|(_, r)| r).collect();
    report.symbols.sort_by(|a, b| a.orig.cmp(&b.orig));

    // The builder defaults new sections to alignment 0, which its writer cannot lay out.
    for s in b.sections.iter_mut() {
        if s.sh_addralign == 0 {
            s.sh_addralign = 1;
        }
    }
    let mut out = Vec::new();
    b.write(&mut out)
        .map_err(|e| one(Error::Elf(output.into(), format!("writing: {e}"))))?;
    crate::inspect::verify(&out, &report).map_err(one)?;
    let tmp = output.with_extension("klp-tmp");
    fs::write(&tmp, &out).map_err(|e| one(Error::Io(tmp.clone(), e)))?;
    fs::rename(&tmp, output).map_err(|e| one(Error::Io(output.into(), e)))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(addr: u64, global: bool, file: &str) -> Entry {
        Entry {
            name: "x".into(),
            addr,
            global,
            file: Some(file.into()),
            init: false,
        }
    }

    #[test]
    fn choice_parsing() {
        assert_eq!(Choice::parse("a=2").unwrap(), Choice::Pos("a".into(), 2));
        assert_eq!(
            Choice::parse("a@f.c").unwrap(),
            Choice::File("a".into(), "f.c".into())
        );
        assert!(Choice::parse("a").is_err());
        assert!(Choice::parse("=2").is_err());
        assert!(Choice::parse("a=x").is_err());
        assert!(Choice::parse("a@").is_err());
    }

    #[test]
    fn positions() {
        let one = [e(1, false, "a.c")];
        assert_eq!(pick("x", "vmlinux", &one, None).unwrap(), 0);
        let two = [e(1, false, "a.c"), e(2, false, "b.c")];
        assert!(matches!(
            pick("x", "vmlinux", &two, None),
            Err(Error::Ambiguous { .. })
        ));
        assert_eq!(
            pick("x", "vmlinux", &two, Some(&Choice::Pos("x".into(), 2))).unwrap(),
            2
        );
        assert_eq!(
            pick(
                "x",
                "vmlinux",
                &two,
                Some(&Choice::File("x".into(), "a.c".into()))
            )
            .unwrap(),
            1
        );
        assert!(pick("x", "vmlinux", &two, Some(&Choice::Pos("x".into(), 3))).is_err());
        assert!(pick(
            "x",
            "vmlinux",
            &two,
            Some(&Choice::File("x".into(), "c.c".into()))
        )
        .is_err());
        let mixed = [e(1, false, "a.c"), e(2, true, "b.c")];
        assert_eq!(pick("x", "vmlinux", &mixed, None).unwrap(), 2);
        let init = [Entry {
            init: true,
            ..e(1, true, "i.c")
        }];
        assert!(pick("x", "vmlinux", &init, None).is_err());
    }
}
