//! CPU masks. While the supervisor wakes a guest thread it keeps it on its
//! own CPU for a moment ([`crate::supervisor::WakeHere`]), and the woken
//! thread may run before its mask is put back: what it reads or sets of
//! its mask meanwhile is its own, never that CPU. Both calls run natively
//! whenever no `WakeHere` holds the thread.

use nix::errno::Errno;
use nix::sched::CpuSet;
use nix::unistd::Pid;

use super::{Call, Ctx, Reply};
use crate::memory::GuestAddr;
use crate::supervisor::WakeHere;

/// The thread a `sched_*affinity` call names (0: the caller).
fn target(call: &Call) -> Pid {
    match call.args[0] as u32 as i32 {
        0 => Pid::from_raw(call.tid),
        t => Pid::from_raw(t),
    }
}

/// Bytes of a `cpu_set_t`, the most either call looks at.
const SET_BYTES: usize = std::mem::size_of::<libc::cpu_set_t>();

/// `sched_getaffinity(pid, len, mask)`.
pub fn sched_getaffinity(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let tid = target(call);
    let Some(own) = WakeHere::own_mask(tid) else { return Ok(Reply::Continue) };
    // The kernel's own checks of `len`, and how many bytes it answers.
    let len = (call.args[1] as usize).min(SET_BYTES);
    let mut probe = vec![0u8; len];
    let n = crate::sys::sched_getaffinity_raw(tid.as_raw(), &mut probe)?;
    let mut bytes = vec![0u8; n];
    for (cpu, byte) in (0..n * 8).map(|c| (c, c / 8)) {
        if own.is_set(cpu).unwrap_or(false) {
            bytes[byte] |= 1 << (cpu % 8);
        }
    }
    ctx.mem.write(GuestAddr::new(call.args[2]).ok_or(Errno::EFAULT)?, &bytes)?;
    Ok(Reply::Value(n as i64))
}

/// `sched_setaffinity(pid, len, mask)`: set by the supervisor, and kept
/// as the thread's own for when the `WakeHere` lets go.
pub fn sched_setaffinity(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let tid = target(call);
    if WakeHere::own_mask(tid).is_none() {
        return Ok(Reply::Continue);
    }
    // As the kernel reads it: at most a cpumask, the rest zero.
    let mut bytes = vec![0u8; (call.args[1] as usize).min(SET_BYTES)];
    ctx.mem.read(GuestAddr::new(call.args[2]).ok_or(Errno::EFAULT)?, &mut bytes)?;
    let mut set = CpuSet::new();
    for cpu in (0..bytes.len() * 8).filter(|c| bytes[c / 8] & (1 << (c % 8)) != 0) {
        set.set(cpu)?;
    }
    nix::sched::sched_setaffinity(tid, &set)?;
    WakeHere::set_own_mask(tid, set);
    Ok(Reply::Value(0))
}
