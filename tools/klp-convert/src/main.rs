// SPDX-License-Identifier: GPL-2.0
//! Command line of klp-convert. See `klp-convert --help` and Documentation/klp-convert.rst.

use klp_convert::convert::{self, Choice, Options};
use klp_convert::error::Error;
use klp_convert::inspect;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: klp-convert COMMAND [OPTIONS] MODULE

commands:
  convert MODULE.ko [-o OUT.ko]  move relocations against non-exported symbols into
                                 .klp.rela sections (in place without -o)
  list MODULE.{o,ko}             list the symbols the module needs: orig object name sympos
  symvers MODULE.o...            print Module.symvers lines for the symbols of all the
                                 modules, for modpost (KBUILD_EXTRA_SYMBOLS)
  show MODULE.ko                 print the module's .klp.rela sections and livepatch symbols

options (convert, list, symvers):
  --vmlinux PATH         the target kernel's vmlinux (required)
  --symvers PATH         its Module.symvers (default: next to vmlinux)
  --module NAME=PATH     a module whose non-exported symbols may be referenced (x86_64 only)
  --sym NAME=POS         choose among same-named symbols by livepatch position (1-based)
  --sym NAME@FILE        choose the local symbol defined in source file FILE
  --unchecked-sym NAME,POS  emit .klp.sym.vmlinux.NAME,POS without lookup (tests only)

exit status: 0 success, 1 conversion error, 2 usage error";

fn usage(msg: &str) -> ExitCode {
    eprintln!("klp-convert: {msg}\n{USAGE}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let Some(cmd) = args.first().cloned() else {
        return usage("no command");
    };
    let mut opts = Options::default();
    let mut vmlinux = None;
    let mut output = None;
    let mut inputs = Vec::new();
    let mut it = args.into_iter().skip(1);
    while let Some(a) = it.next() {
        let mut val = |flag: &str| it.next().ok_or_else(|| format!("{flag} needs a value"));
        let r: Result<(), String> = (|| {
            match a.as_str() {
                "--vmlinux" => vmlinux = Some(PathBuf::from(val("--vmlinux")?)),
                "--symvers" => opts.symvers = Some(PathBuf::from(val("--symvers")?)),
                "-o" | "--output" => output = Some(PathBuf::from(val("-o")?)),
                "--module" => {
                    let v = val("--module")?;
                    let (n, p) = v
                        .split_once('=')
                        .ok_or(format!("--module {v}: want NAME=PATH"))?;
                    opts.modules.push((n.into(), p.into()));
                }
                "--sym" => opts
                    .choices
                    .push(Choice::parse(&val("--sym")?).map_err(|e| e.to_string())?),
                "--unchecked-sym" => {
                    let v = val("--unchecked-sym")?;
                    let (n, p) = v
                        .split_once(',')
                        .ok_or(format!("--unchecked-sym {v}: want NAME,POS"))?;
                    let p = p
                        .parse()
                        .map_err(|_| format!("--unchecked-sym {v}: bad position"))?;
                    if n.is_empty() || n.contains(',') {
                        return Err(format!("--unchecked-sym {v}: bad name"));
                    }
                    opts.unchecked.push((n.into(), p));
                }
                s if s.starts_with('-') => return Err(format!("unknown option {s}")),
                _ => inputs.push(PathBuf::from(&a)),
            }
            Ok(())
        })();
        if let Err(m) = r {
            return usage(&m);
        }
    }
    if inputs.is_empty() || (inputs.len() > 1 && cmd != "symvers") {
        return usage("give exactly one MODULE (symvers takes several)");
    }
    let input = &inputs[0];

    if cmd == "show" {
        return match std::fs::read(input)
            .map_err(|e| Error::Io(input.clone(), e))
            .and_then(|d| inspect::read(&d))
        {
            Ok(k) => {
                for s in &k.sections {
                    println!(
                        "section {} -> {} flags {:#x} relocs {}",
                        s.name,
                        s.target,
                        s.flags,
                        s.relocs.len()
                    );
                    for (t, n, _) in &s.relocs {
                        println!("  type {t} {n}");
                    }
                }
                for (n, bind) in &k.symbols {
                    println!("symbol {n} bind {bind}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("klp-convert: error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let Some(v) = vmlinux else {
        return usage("--vmlinux is required");
    };
    opts.vmlinux = v;
    let result = match cmd.as_str() {
        "convert" => {
            let out = output.unwrap_or_else(|| input.clone());
            convert::convert(input, &out, &opts).map(|r| {
                if r.already_converted {
                    eprintln!(
                        "klp-convert: {}: already converted, left as it is",
                        input.display()
                    );
                }
                for s in &r.symbols {
                    eprintln!("klp-convert: {} -> {}", s.orig, s.klp_name());
                }
            })
        }
        "list" => convert::plan(input, &opts).map(|(_, syms)| {
            for s in syms {
                println!("{} {} {} {}", s.orig, s.object, s.name, s.sympos);
            }
        }),
        "symvers" => {
            // One line per symbol name over all inputs: modpost refuses a symbol listed twice.
            let mut names = std::collections::BTreeSet::new();
            let mut errs = Vec::new();
            for i in &inputs {
                match convert::plan(i, &opts) {
                    Ok((_, syms)) => names.extend(syms.into_iter().map(|s| s.orig)),
                    Err(e) => errs.extend(e.0),
                }
            }
            if errs.is_empty() {
                for n in names {
                    println!("0x00000000\t{n}\tvmlinux\tEXPORT_SYMBOL\t");
                }
                Ok(())
            } else {
                Err(klp_convert::error::Errors(errs))
            }
        }
        other => return usage(&format!("unknown command '{other}'")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(errs) => {
            for e in errs.0 {
                eprintln!("klp-convert: error: {e}");
            }
            ExitCode::FAILURE
        }
    }
}
