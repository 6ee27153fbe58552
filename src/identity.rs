//! The sandbox's identity: hostname and `uname(2)`.

use nix::errno::Errno;

/// `sizeof(struct utsname)` on Linux: six fields of 65 bytes.
pub const UTSNAME_LEN: usize = 6 * FIELD;
const FIELD: usize = 65;
const NODENAME: usize = 1;

/// The identity a sandbox presents.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The `struct utsname` image the guest gets, computed once so the
    /// notified `uname` costs one memory write.
    utsname: [u8; UTSNAME_LEN],
}

impl Identity {
    /// The host's `uname` with `hostname` as nodename (if given).
    pub fn new(hostname: Option<&str>) -> Result<Identity, Errno> {
        let host = nix::sys::utsname::uname()?;
        let fields =
            [host.sysname(), host.nodename(), host.release(), host.version(), host.machine(), host.domainname()];
        let mut utsname = [0u8; UTSNAME_LEN];
        for (i, f) in fields.iter().enumerate() {
            let mut bytes = std::os::unix::ffi::OsStrExt::as_bytes(*f);
            if i == NODENAME {
                if let Some(h) = hostname {
                    bytes = h.as_bytes();
                }
            }
            let n = bytes.len().min(FIELD - 1);
            utsname[i * FIELD..i * FIELD + n].copy_from_slice(&bytes[..n]);
        }
        Ok(Identity { utsname })
    }

    /// The `struct utsname` bytes.
    pub fn utsname(&self) -> &[u8] {
        &self.utsname
    }
}
