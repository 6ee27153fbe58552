//! Arbitrary routing tables (any actions on any numbers, far more varied than
//! our real policy) are emitted as BPF and run through the interpreter on
//! arbitrary seccomp_data; the verdict must be the table's own.
#![no_main]

use std::collections::BTreeMap;

use condo::filter::{emit, interp, Action, ArgRule, Resolved, SeccompData, Verdict};
use condo_syscalls::Arch;
use libfuzzer_sys::fuzz_target;

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map(|(b, r)| (*b, r)).unwrap_or((0, &[]));
        self.0 = rest;
        b
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }
    fn verdict(&mut self) -> Verdict {
        match self.u8() % 5 {
            0 => Verdict::Allow,
            1 => Verdict::Notify,
            2 => Verdict::Trace(u16::from(self.u8())),
            3 => Verdict::Errno(u16::from(self.u8()) + 1),
            _ => Verdict::Kill,
        }
    }
    fn action(&mut self) -> Action {
        let rule = match self.u8() % 10 {
            0 => return Action::Plain(self.verdict()),
            1 => ArgRule::CloneFlags,
            2 => ArgRule::Personality,
            3 => ArgRule::IoctlRequestInView,
            4 => ArgRule::PrctlDumpable,
            5 => ArgRule::DirFd(self.u8() % 6),
            6 => ArgRule::DirFds(self.u8() % 6, self.u8() % 6),
            7 => ArgRule::NullArg(self.u8() % 6),
            8 => ArgRule::ReadAccessAt(self.u8() % 6, self.u8() % 6),
            _ => ArgRule::IoctlRequest,
        };
        Action::Check { rule, pass: self.verdict(), fail: self.verdict() }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let arch = if b.u8() & 1 == 0 { Arch::X86_64 } else { Arch::Aarch64 };
    let n = usize::from(b.u8()) * 4;
    let mut actions = BTreeMap::new();
    let mut nr = 0u32;
    for _ in 0..n {
        nr = nr.saturating_add(u32::from(b.u8() % 8));
        if arch == Arch::X86_64 && nr >= 0x4000_0000 {
            break;
        }
        actions.insert(nr, b.action());
    }
    let table = Resolved { arch, actions, unknown: b.verdict() };
    let prog = emit(&table);
    // Emission stays linear in the table: the longest action (an ioctl
    // check against the view's list) plus its share of the search tree
    // and long-jump trampolines.
    assert!(
        prog.len() <= 64 + 24 * table.actions.len(),
        "{} instructions for {} actions",
        prog.len(),
        table.actions.len()
    );
    for _ in 0..8 {
        let d = SeccompData {
            nr: if b.u8() & 1 == 0 { u32::from(b.u8()) * 4 } else { b.u32() },
            arch: if b.u8() & 3 == 0 { b.u32() } else { arch.audit_arch() },
            ip: 0,
            args: [b.u64(), b.u64(), b.u64(), b.u64(), b.u64(), b.u64()],
        };
        let got = interp::run(&prog, &d.to_bytes()).expect("emitted program runs");
        assert_eq!(got, table.expected(&d).ret(), "{d:?}");
    }
});
