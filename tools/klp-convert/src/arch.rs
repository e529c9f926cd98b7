// SPDX-License-Identifier: GPL-2.0
//! What each supported architecture's module loader can do with a livepatch relocation.

use object::elf;

/// An architecture klp-convert handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// 64-bit s390 (`EM_S390`, big endian).
    S390x,
    /// x86_64 (`EM_X86_64`, little endian).
    X86_64,
}

impl Arch {
    /// The architecture of an ELF machine number, if supported.
    pub fn from_machine(m: u16) -> Option<Arch> {
        match m {
            m if m == elf::EM_S390.0 => Some(Arch::S390x),
            m if m == elf::EM_X86_64.0 => Some(Arch::X86_64),
            _ => None,
        }
    }

    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Arch::S390x => "s390x",
            Arch::X86_64 => "x86_64",
        }
    }

    /// Whether the module loader (`apply_relocate_add`) of this architecture applies
    /// relocations of type `r_type`: arch/s390/kernel/module.c `apply_rela()` and
    /// arch/x86/kernel/module.c `__write_relocate_add()` in Linux 7.3.
    pub fn loader_applies(self, r_type: u32) -> bool {
        match self {
            Arch::S390x => S390_APPLIED.contains(&r_type),
            Arch::X86_64 => X86_64_APPLIED.contains(&r_type),
        }
    }

    /// Whether a livepatch relocation against a symbol in another *module* is safe here.
    ///
    /// s390 has no `clear_relocate_add()`: a GOT slot that points into a module keeps the old
    /// address when that module is unloaded and loaded again elsewhere, so only vmlinux
    /// targets are safe there.
    pub fn module_targets_safe(self) -> bool {
        matches!(self, Arch::X86_64)
    }
}

const S390_APPLIED: &[u32] = &[
    elf::R_390_NONE.0,
    elf::R_390_8.0,
    elf::R_390_12.0,
    elf::R_390_16.0,
    elf::R_390_20.0,
    elf::R_390_32.0,
    elf::R_390_64.0,
    elf::R_390_PC16.0,
    elf::R_390_PC16DBL.0,
    elf::R_390_PC32DBL.0,
    elf::R_390_PC32.0,
    elf::R_390_PC64.0,
    elf::R_390_GOT12.0,
    elf::R_390_GOT16.0,
    elf::R_390_GOT20.0,
    elf::R_390_GOT32.0,
    elf::R_390_GOT64.0,
    elf::R_390_GOTENT.0,
    elf::R_390_GOTPLT12.0,
    elf::R_390_GOTPLT16.0,
    elf::R_390_GOTPLT20.0,
    elf::R_390_GOTPLT32.0,
    elf::R_390_GOTPLT64.0,
    elf::R_390_GOTPLTENT.0,
    elf::R_390_PLT16DBL.0,
    elf::R_390_PLT32DBL.0,
    elf::R_390_PLT32.0,
    elf::R_390_PLT64.0,
    elf::R_390_PLTOFF16.0,
    elf::R_390_PLTOFF32.0,
    elf::R_390_PLTOFF64.0,
    elf::R_390_GOTOFF16.0,
    elf::R_390_GOTOFF32.0,
    elf::R_390_GOTOFF64.0,
    elf::R_390_GOTPC.0,
    elf::R_390_GOTPCDBL.0,
];

const X86_64_APPLIED: &[u32] = &[
    elf::R_X86_64_NONE.0,
    elf::R_X86_64_64.0,
    elf::R_X86_64_32.0,
    elf::R_X86_64_32S.0,
    elf::R_X86_64_PC32.0,
    elf::R_X86_64_PLT32.0,
    elf::R_X86_64_PC64.0,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines() {
        assert_eq!(Arch::from_machine(22), Some(Arch::S390x));
        assert_eq!(Arch::from_machine(62), Some(Arch::X86_64));
        assert_eq!(Arch::from_machine(183), None);
    }

    #[test]
    fn loader_types() {
        assert!(Arch::S390x.loader_applies(elf::R_390_GOTENT.0));
        assert!(Arch::S390x.loader_applies(elf::R_390_PLT32DBL.0));
        assert!(!Arch::S390x.loader_applies(elf::R_390_RELATIVE.0));
        assert!(!Arch::S390x.loader_applies(elf::R_390_TLS_LE64.0));
        assert!(Arch::X86_64.loader_applies(elf::R_X86_64_PLT32.0));
        assert!(!Arch::X86_64.loader_applies(elf::R_X86_64_GOTPCREL.0));
        assert!(!Arch::S390x.module_targets_safe());
        assert!(Arch::X86_64.module_targets_safe());
    }
}
