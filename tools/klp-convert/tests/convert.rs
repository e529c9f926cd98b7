// SPDX-License-Identifier: GPL-2.0
//! End-to-end tests on small objects these tests build themselves, cross-compiled for s390x
//! and x86_64: a "module" that refers to symbols of a "vmlinux" that is linked from two files
//! with a duplicated static, a compiler-clone name, an exported function and a variable. The
//! output is read back (sections, flags, symbol names, positions, relocation types).

use klp_convert::convert::{self, Choice, Options, KLP_RELA_FLAGS, SHN_LIVEPATCH};
use klp_convert::error::Error;
use klp_convert::inspect;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Arch {
    gcc: &'static str,
    ld: &'static str,
    cflags: &'static [&'static str],
    /// (data relocation, call relocation) the compiler emits for an extern.
    relocs: (u32, u32),
}

const S390X: Arch = Arch {
    gcc: "s390x-linux-gnu-gcc",
    ld: "s390x-linux-gnu-ld",
    // As s390 modules are built: position independent, so GOTENT and PLT32DBL.
    cflags: &["-O2", "-fPIC", "-fno-common", "-march=z10"],
    relocs: (26, 20), // R_390_GOTENT, R_390_PLT32DBL
};

const X86_64: Arch = Arch {
    gcc: "gcc",
    ld: "ld",
    // As x86_64 modules are built: kernel code model, no PIC.
    cflags: &[
        "-O2",
        "-mcmodel=kernel",
        "-fno-pic",
        "-fno-common",
        "-mno-red-zone",
    ],
    relocs: (2, 4), // R_X86_64_PC32, R_X86_64_PLT32
};

const VMLINUX_A: &str = r#"
int target_var = 7;
__thread int tls_var;
int exported_fn(int x) { return x + 1; }
__attribute__((used, noinline)) static int dup_fn(int x) { return x * 2; }
int use_a(int x) { return dup_fn(x); }
__attribute__((used, noinline)) static int clone_fn(int x) __asm__("helper.constprop.0");
static int clone_fn(int x) { return x - 3; }
int use_clone(int x) { return clone_fn(x); }
int _start(void) { return 0; }
"#;

const VMLINUX_B: &str = r#"
__attribute__((used, noinline)) static int dup_fn(int x) { return x * 3; }
int use_b(int x) { return dup_fn(x); }
__attribute__((used, noinline)) static int twin(int x) { return x; }
int use_twin(int x) { return twin(x); }
"#;

const VMLINUX_C: &str = r#"
__attribute__((used, noinline)) static int twin(int x) { return x + 9; }
int use_twin2(int x) { return twin(x); }
"#;

const MODULE: &str = r#"
extern int target_var;
extern int dup_fn(int);
extern int exported_fn(int);
extern int helper(int);
int test_entry(int x) { return target_var + dup_fn(x) + exported_fn(x) + helper(x); }
"#;

struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn new(arch: &Arch, tag: &str) -> Fixture {
        let dir =
            std::env::temp_dir().join(format!("klp-convert-test-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let f = Fixture { dir };
        for (name, src) in [
            ("a.c", VMLINUX_A),
            ("b.c", VMLINUX_B),
            ("c.c", VMLINUX_C),
            ("module.c", MODULE),
        ] {
            std::fs::write(f.path(name), src).unwrap();
            f.cc(arch, name, &[]);
        }
        run(Command::new(arch.ld)
            .args(["-o", "vmlinux", "-e", "_start", "a.o", "b.o", "c.o"])
            .current_dir(&f.dir));
        std::fs::write(
            f.path("Module.symvers"),
            "0x00000000\texported_fn\tvmlinux\tEXPORT_SYMBOL_GPL\t\n",
        )
        .unwrap();
        f
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn cc(&self, arch: &Arch, name: &str, extra: &[&str]) -> PathBuf {
        let obj = Path::new(name).with_extension("o");
        run(Command::new(arch.gcc)
            .args(arch.cflags)
            .args(extra)
            .args(["-c", name, "-o"])
            .arg(&obj)
            .current_dir(&self.dir));
        self.path(obj.to_str().unwrap())
    }

    fn opts(&self) -> Options {
        Options {
            vmlinux: self.path("vmlinux"),
            ..Options::default()
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (install the cross toolchain)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn converts(arch: &Arch, tag: &str) {
    let f = Fixture::new(arch, tag);
    let mut opts = f.opts();
    opts.choices
        .push(Choice::File("dup_fn".into(), "b.c".into()));
    let out = f.path("module.ko");
    let report = convert::convert(&f.path("module.o"), &out, &opts).unwrap();
    let names: Vec<String> = report.symbols.iter().map(|r| r.klp_name()).collect();
    // Sorted by the name the module uses: dup_fn, helper, target_var; exported_fn untouched.
    assert_eq!(
        names,
        [
            ".klp.sym.vmlinux.dup_fn,2",
            ".klp.sym.vmlinux.helper.constprop.0,0",
            ".klp.sym.vmlinux.target_var,0"
        ]
    );

    let klp = inspect::read(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(klp.sections.len(), 1, "{klp:?}");
    let s = &klp.sections[0];
    assert_eq!(s.name, ".klp.rela.vmlinux..text");
    assert_eq!(s.target, ".text");
    assert_eq!(s.flags, KLP_RELA_FLAGS);
    assert!(s.links_symtab);
    assert_eq!(s.relocs.len(), 3);
    for (r_type, sym, shndx) in &s.relocs {
        assert_eq!(*shndx, SHN_LIVEPATCH);
        let want = if sym.contains("target_var") {
            arch.relocs.0
        } else {
            arch.relocs.1
        };
        assert_eq!(*r_type, want, "{sym}");
    }
    let mut syms: Vec<&str> = klp.symbols.iter().map(|(n, _)| n.as_str()).collect();
    syms.sort();
    assert_eq!(syms, names);
    assert!(klp.stray.is_empty());
    assert_eq!(klp.undefined, ["exported_fn"]);

    // Converting again leaves the output as it is.
    let before = std::fs::read(&out).unwrap();
    let again = convert::convert(&out, &out, &opts).unwrap();
    assert!(again.already_converted);
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

#[test]
fn converts_s390x() {
    converts(&S390X, "s390x-ok");
}

#[test]
fn converts_x86_64() {
    converts(&X86_64, "x86-ok");
}

#[test]
fn position_by_number_and_global_preference() {
    let f = Fixture::new(&S390X, "pos");
    let mut opts = f.opts();
    opts.choices.push(Choice::Pos("dup_fn".into(), 1));
    let (_, plan) = convert::plan(&f.path("module.o"), &opts).unwrap();
    let dup = plan.iter().find(|r| r.orig == "dup_fn").unwrap();
    assert_eq!((dup.object.as_str(), dup.sympos), ("vmlinux", 1));
}

fn errors(f: &Fixture, opts: &Options, input: &Path) -> Vec<Error> {
    convert::convert(input, &f.path("out.ko"), opts)
        .expect_err("conversion should fail")
        .0
}

#[test]
fn ambiguous_name_lists_candidates() {
    let f = Fixture::new(&S390X, "amb");
    let errs = errors(&f, &f.opts(), &f.path("module.o"));
    assert_eq!(errs.len(), 1);
    let msg = errs[0].to_string();
    assert!(matches!(errs[0], Error::Ambiguous { .. }), "{msg}");
    assert!(
        msg.contains("pos 1")
            && msg.contains("a.c")
            && msg.contains("pos 2")
            && msg.contains("b.c"),
        "{msg}"
    );
    assert!(!f.path("out.ko").exists(), "no output on failure");
}

#[test]
fn bad_position_and_file_are_refused() {
    let f = Fixture::new(&S390X, "badpos");
    let mut opts = f.opts();
    opts.choices.push(Choice::Pos("dup_fn".into(), 3));
    assert!(matches!(
        errors(&f, &opts, &f.path("module.o"))[0],
        Error::BadPosition { .. }
    ));
    let mut opts = f.opts();
    opts.choices
        .push(Choice::File("dup_fn".into(), "zz.c".into()));
    assert!(matches!(
        errors(&f, &opts, &f.path("module.o"))[0],
        Error::BadPosition { .. }
    ));
}

#[test]
fn missing_symbol_is_refused() {
    let f = Fixture::new(&S390X, "missing");
    std::fs::write(
        f.path("m2.c"),
        "extern int nowhere(void); int e(void) { return nowhere(); }",
    )
    .unwrap();
    let obj = f.cc(&S390X, "m2.c", &[]);
    let errs = errors(&f, &f.opts(), &obj);
    assert!(
        matches!(&errs[0], Error::NotFound { name, .. } if name == "nowhere"),
        "{}",
        errs[0]
    );
}

#[test]
fn ambiguous_clone_is_refused() {
    let f = Fixture::new(&S390X, "clones");
    // A second clone of `twin` in vmlinux would make `twin.isra.0` vs `twin.constprop.0`
    // ambiguous; here `twin` itself exists twice as a local, and nothing says which.
    std::fs::write(
        f.path("m3.c"),
        "extern int twin(int); int e(int x) { return twin(x); }",
    )
    .unwrap();
    let obj = f.cc(&S390X, "m3.c", &[]);
    let errs = errors(&f, &f.opts(), &obj);
    assert!(matches!(errs[0], Error::Ambiguous { .. }), "{}", errs[0]);
}

#[test]
fn wrong_machine_and_non_relocatable_are_refused() {
    let s = Fixture::new(&S390X, "mach-s");
    let x = Fixture::new(&X86_64, "mach-x");
    let mut opts = s.opts();
    opts.choices
        .push(Choice::File("dup_fn".into(), "b.c".into()));
    // An x86_64 module against an s390x vmlinux.
    assert!(matches!(
        errors(&s, &opts, &x.path("module.o"))[0],
        Error::Machine(..)
    ));
    // vmlinux itself is no relocatable object.
    assert!(matches!(
        errors(&s, &opts, &s.path("vmlinux"))[0],
        Error::NotRelocatable(_)
    ));
    // Not ELF at all.
    assert!(matches!(
        errors(&s, &opts, &s.path("a.c"))[0],
        Error::Elf(..)
    ));
}

fn unsupported_relocation(arch: &Arch, tag: &str, name: &'static str, src: &str, flags: &[&str]) {
    let f = Fixture::new(arch, tag);
    std::fs::write(f.path("m4.c"), src).unwrap();
    let obj = f.cc(arch, "m4.c", flags);
    let errs = errors(&f, &f.opts(), &obj);
    assert!(
        matches!(errs[0], Error::Relocation { arch: a, .. } if a == name),
        "{}",
        errs[0]
    );
}

#[test]
fn relocation_the_loader_cannot_apply_is_refused() {
    // s390x: a thread-local variable is reached with R_390_TLS_LE64, which no module loader
    // applies.
    unsupported_relocation(
        &S390X,
        "reltype-s",
        "s390x",
        "extern __thread int tls_var; int e(void) { return tls_var; }",
        &["-ftls-model=local-exec", "-fno-PIC"],
    );
    // x86_64: R_X86_64_SIZE32, written with .reloc.
    unsupported_relocation(
        &X86_64,
        "reltype-x",
        "x86_64",
        "asm(\".pushsection .text\\n.reloc ., R_X86_64_SIZE32, target_var\\n.long 0\\n.popsection\");",
        &[],
    );
}

/// A fixture whose "module" (m5.o) calls `mod_only`, defined only in another module
/// ("othermod", mod.o) that the options name with --module.
fn module_target(arch: &Arch, tag: &str) -> (Fixture, PathBuf, Options) {
    let f = Fixture::new(arch, tag);
    std::fs::write(f.path("mod.c"), "int mod_only(int x) { return x; }").unwrap();
    let other = f.cc(arch, "mod.c", &[]);
    std::fs::write(
        f.path("m5.c"),
        "extern int mod_only(int); int e(int x) { return mod_only(x); }",
    )
    .unwrap();
    let obj = f.cc(arch, "m5.c", &[]);
    let mut opts = f.opts();
    opts.modules.push(("othermod".into(), other));
    (f, obj, opts)
}

#[test]
fn module_targets_are_refused_on_s390x() {
    let (f, obj, opts) = module_target(&S390X, "modtgt");
    let errs = errors(&f, &opts, &obj);
    assert!(matches!(errs[0], Error::Unsafe(_)), "{}", errs[0]);
}

#[test]
fn module_targets_work_on_x86_64() {
    let (f, obj, opts) = module_target(&X86_64, "modtgt-x");
    let report = convert::convert(&obj, &f.path("out.ko"), &opts).unwrap();
    assert_eq!(report.symbols[0].klp_name(), ".klp.sym.othermod.mod_only,0");
    assert_eq!(report.sections[0].0, ".klp.rela.othermod..text");
}

#[test]
fn unchecked_symbol_is_written_as_given() {
    let f = Fixture::new(&S390X, "unchecked");
    std::fs::write(
        f.path("m6.c"),
        "extern int nowhere(void); int e(void) { return nowhere(); }",
    )
    .unwrap();
    let obj = f.cc(&S390X, "m6.c", &[]);
    let mut opts = f.opts();
    opts.unchecked.push(("nowhere".into(), 0));
    let report = convert::convert(&obj, &f.path("out.ko"), &opts).unwrap();
    assert_eq!(report.symbols[0].klp_name(), ".klp.sym.vmlinux.nowhere,0");
}

#[test]
fn nothing_to_convert_leaves_the_module_unchanged() {
    let f = Fixture::new(&S390X, "noop");
    std::fs::write(
        f.path("m7.c"),
        "extern int exported_fn(int); int e(int x) { return exported_fn(x); }",
    )
    .unwrap();
    let obj = f.cc(&S390X, "m7.c", &[]);
    let report = convert::convert(&obj, &f.path("out.ko"), &f.opts()).unwrap();
    assert_eq!(report, convert::Report::default());
    assert_eq!(
        std::fs::read(&obj).unwrap(),
        std::fs::read(f.path("out.ko")).unwrap()
    );
}

/// A module compiled by clang (the KASAN kernels are) carries `.llvm_addrsig`, a section type the
/// ELF builder does not know: converted, without it.
#[test]
fn converts_clang_object_with_addrsig() {
    let f = Fixture::new(&X86_64, "x86_64-clang");
    run(Command::new("clang-19")
        .args(X86_64.cflags)
        .args(["-faddrsig", "-c", "module.c", "-o", "module-clang.o"])
        .current_dir(&f.dir));
    let input = f.path("module-clang.o");
    let has_addrsig = |p: &Path| {
        use object::{Object, ObjectSection};
        let data = std::fs::read(p).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let found = file.sections().any(|s| s.name() == Ok(".llvm_addrsig"));
        found
    };
    assert!(has_addrsig(&input), "clang emitted no .llvm_addrsig");
    let mut opts = f.opts();
    opts.choices
        .push(Choice::File("dup_fn".into(), "b.c".into()));
    let out = f.path("module-clang.ko");
    let report = convert::convert(&input, &out, &opts).unwrap();
    assert_eq!(report.symbols.len(), 3);
    assert!(!has_addrsig(&out));
    let klp = inspect::read(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(klp.sections.len(), 1, "{klp:?}");
}
