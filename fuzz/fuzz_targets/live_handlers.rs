//! Random syscall numbers and argument registers (raw values, or pointers
//! anywhere into a page that ends at a PROT_NONE page) sent through the real
//! supervisor handlers of a live sandboxed guest. Only calls the supervisor
//! answers are issued (the notified `uname` and every denied call, with
//! accounting on), so nothing random reaches the kernel for real; the guest
//! runs as `nobody` besides. The supervisor must answer every call with the
//! right kind of result and never crash or hang.
//!
//! `cd fuzz && cargo +nightly fuzz run live_handlers -- -max_total_time=600`
#![no_main]

use std::io::{Read, Write};
use std::process::{ChildStdin, ChildStdout};
use std::sync::{Mutex, OnceLock};

use condo::policy::Policy;
use condo_syscalls::{Arch, Sysno};
use libfuzzer_sys::fuzz_target;

struct Guest {
    child: condo::Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
}

/// (syscall number, expected errno for denied calls; None for uname).
fn routes(policy: &Policy) -> Vec<(u32, Option<i32>)> {
    let mut v = Vec::new();
    let arch = Arch::native();
    for (nr, d) in condo::table::supervisor_denials(policy).iter().enumerate() {
        // Only outright denials: an argument-checked call (clone, ioctl,
        // personality) reaches the supervisor only when it fails the check
        // and would otherwise run for real with random arguments.
        let outright =
            arch.sysno(nr as u64).is_some_and(|s| matches!(condo::table::entry(s).route, condo::table::Route::Deny(_)));
        if let (Some((errno, _)), true) = (d, outright) {
            v.push((nr as u32, Some(*errno)));
        }
    }
    v.push((Sysno::uname.nr(Arch::native()).expect("uname"), None));
    v
}

fn drop_privileges() {
    if nix::unistd::geteuid().is_root() {
        let nobody = nix::unistd::Gid::from_raw(65534);
        nix::unistd::setgroups(&[]).expect("setgroups");
        nix::unistd::setresgid(nobody, nobody, nobody).expect("setresgid");
        let nobody = nix::unistd::Uid::from_raw(65534);
        nix::unistd::setresuid(nobody, nobody, nobody).expect("setresuid");
    }
}

fn guest_binary() -> std::path::PathBuf {
    // Not under /tmp: the default view replaces it with a private one.
    let out = std::path::Path::new("/var/tmp").join(format!("condo-fuzz-syscall-server-{}", std::process::id()));
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/guests/syscall_server.c");
    let st = std::process::Command::new("gcc").args(["-O1", "-static", "-o"]).arg(&out).arg(src).status();
    assert!(st.map(|s| s.success()).unwrap_or(false), "building the guest");
    out
}

fn spawn(bin: &std::path::Path) -> Guest {
    let sandbox = condo::Sandbox::new().hostname("fuzz").account(true);
    let mut child = sandbox
        .command(bin)
        .stdin(condo::Stdio::Piped)
        .stdout(condo::Stdio::Piped)
        .stderr(condo::Stdio::Null)
        .spawn()
        .expect("the guest starts");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    Guest { child, stdin, stdout }
}

struct State {
    bin: std::path::PathBuf,
    guest: Guest,
    routes: Vec<(u32, Option<i32>)>,
}

static STATE: OnceLock<Mutex<State>> = OnceLock::new();

fn state() -> &'static Mutex<State> {
    STATE.get_or_init(|| {
        let bin = guest_binary();
        drop_privileges();
        let policy = Policy { hostname: Some("fuzz".into()), account: true, ..Policy::default() };
        let guest = spawn(&bin);
        Mutex::new(State { bin, guest, routes: routes(&policy) })
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 + 48 {
        return;
    }
    let mut st = state().lock().unwrap_or_else(|p| p.into_inner());
    let (nr, expect) = st.routes[usize::from(data[0]) % st.routes.len()];
    let ptr_mask = u32::from(data[1]) & 0x3f;
    let mut req = Vec::with_capacity(8 + 48 + 4096);
    req.extend_from_slice(&nr.to_le_bytes());
    req.extend_from_slice(&ptr_mask.to_le_bytes());
    req.extend_from_slice(&data[8..56]);
    let mut blob = data[56..].to_vec();
    blob.resize(4096, 0);
    req.extend_from_slice(&blob);
    st.guest.stdin.write_all(&req).expect("the guest reads requests (supervisor alive)");
    let mut out = [0u8; 8];
    st.guest.stdout.read_exact(&mut out).expect("the guest answers (supervisor alive)");
    let ret = i64::from_le_bytes(out);
    match expect {
        Some(errno) => assert_eq!(ret, -i64::from(errno), "denied call {nr} got {ret}"),
        None => assert!(ret == 0 || ret == -i64::from(libc::EFAULT), "uname got {ret}"),
    }
    // Keep the guest fresh now and then (exercises start and teardown too).
    if data[2] == 0xff && data[3] == 0xff {
        let _ = st.guest.child.kill();
        let _ = st.guest.child.wait();
        let bin = st.bin.clone();
        st.guest = spawn(&bin);
    }
});
