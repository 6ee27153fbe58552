//! Identity family: what the guest learns about the machine it runs on.

use nix::errno::Errno;

use super::{Call, Ctx, Reply};
use crate::memory::GuestAddr;

/// `uname(2)`: the host's answer with the sandbox's hostname as `nodename`.
pub fn uname(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let buf = GuestAddr::new(call.args[0]).ok_or(Errno::EFAULT)?;
    ctx.mem.write(buf, ctx.identity.utsname())?;
    Ok(Reply::Value(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Identity, UTSNAME_LEN};
    use crate::memory::fake::FakeMemory;
    use condo_syscalls::Sysno;
    use std::cell::RefCell;

    fn call(addr: u64) -> Call {
        Call { sysno: Sysno::uname, args: [addr, 0, 0, 0, 0, 0], tid: 1 }
    }

    #[test]
    fn uname_writes_the_sandbox_hostname() {
        let id = Identity::new(Some("box")).unwrap();
        let mem = FakeMemory { base: 0x1000, bytes: RefCell::new(vec![0xff; 4096]) };
        let mut ctx = Ctx { mem: &mem, identity: &id, vfs: None, in_sandbox: &|_| false, fds_private: false };
        assert_eq!(uname(&mut ctx, &call(0x1000)), Ok(Reply::Value(0)));
        let b = mem.bytes.borrow();
        assert_eq!(&b[65..69], b"box\0");
        assert_eq!(&b[0..6], b"Linux\0");
        assert_eq!(b[UTSNAME_LEN], 0xff, "wrote past struct utsname");
    }

    #[test]
    fn uname_bad_pointers_are_efault() {
        let id = Identity::new(Some("box")).unwrap();
        let mem = FakeMemory { base: 0x1000, bytes: RefCell::new(vec![0; 100]) };
        let mut ctx = Ctx { mem: &mem, identity: &id, vfs: None, in_sandbox: &|_| false, fds_private: false };
        assert_eq!(uname(&mut ctx, &call(0)), Err(Errno::EFAULT));
        assert_eq!(uname(&mut ctx, &call(0x9000)), Err(Errno::EFAULT));
        // Partially mapped: the struct does not fit.
        assert_eq!(uname(&mut ctx, &call(0x1000)), Err(Errno::EFAULT));
    }
}
