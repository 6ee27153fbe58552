//! What `sendmsg` reads from the guest: the `msghdr`, its `iovec`s and its
//! ancillary data, decoded from bytes copied out of guest memory once.
//! Pure (no syscalls), so it is fuzzed (`fuzz/fuzz_targets/sockmsg.rs`)
//! and property-tested; the handler in `handlers/net.rs` does the I/O.
//!
//! Layouts are the LP64 ones (x86_64, aarch64): `msghdr` is 56 bytes,
//! `mmsghdr` 64, `iovec` 16, `cmsghdr` 16 with data aligned to 8.

use nix::errno::Errno;

/// `sizeof(struct msghdr)`.
pub const MSGHDR_LEN: usize = 56;
/// `sizeof(struct mmsghdr)`: a `msghdr`, then the `u32` the kernel fills
/// with the bytes sent.
pub const MMSGHDR_LEN: usize = 64;
/// Where `msg_len` sits in an `mmsghdr`.
pub const MMSG_LEN_OFFSET: usize = 56;
/// `sizeof(struct iovec)`.
pub const IOVEC_LEN: usize = 16;
/// `UIO_MAXIOV`: more `iovec`s is `EMSGSIZE`; also the most `mmsghdr`s
/// one `sendmmsg` sends.
pub const UIO_MAXIOV: usize = 1024;
/// `SCM_MAX_FD`: the most fds one `SCM_RIGHTS` message carries.
pub const SCM_MAX_FD: usize = 253;
const CMSGHDR_LEN: usize = 16;

/// A `struct msghdr`, its pointers still guest addresses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgHdr {
    /// `msg_name`.
    pub name: u64,
    /// `msg_namelen`.
    pub namelen: u32,
    /// `msg_iov`.
    pub iov: u64,
    /// `msg_iovlen`.
    pub iovlen: u64,
    /// `msg_control`.
    pub control: u64,
    /// `msg_controllen`.
    pub controllen: u64,
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).and_then(|s| s.try_into().ok()).map(u64::from_ne_bytes).unwrap_or(0)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).and_then(|s| s.try_into().ok()).map(u32::from_ne_bytes).unwrap_or(0)
}

impl MsgHdr {
    /// Decodes the first [`MSGHDR_LEN`] bytes (missing bytes read as 0).
    pub fn decode(b: &[u8]) -> MsgHdr {
        MsgHdr {
            name: u64_at(b, 0),
            namelen: u32_at(b, 8),
            iov: u64_at(b, 16),
            iovlen: u64_at(b, 24),
            control: u64_at(b, 32),
            controllen: u64_at(b, 40),
        }
    }
}

/// The `(base, len)` pairs of an `iovec` array.
pub fn decode_iovecs(b: &[u8]) -> Vec<(u64, u64)> {
    b.chunks_exact(IOVEC_LEN).map(|c| (u64_at(c, 0), u64_at(c, 8))).collect()
}

/// One control message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmsg {
    /// `cmsg_level` (`SOL_SOCKET`, `IPPROTO_IP`, ...).
    pub level: i32,
    /// `cmsg_type` (`SCM_RIGHTS`, ...).
    pub kind: i32,
    /// What follows the header, without the padding.
    pub data: Vec<u8>,
}

fn align(n: usize) -> usize {
    (n + 7) & !7
}

/// The control messages of `msg_control` as the kernel walks them: each
/// header's `cmsg_len` covers itself and its data, the next header starts
/// at that length rounded up to 8, and a tail shorter than a header is
/// ignored. A length shorter than a header or past the end is `EINVAL`;
/// so are `SCM_RIGHTS` data that is not whole ints, or more than
/// [`SCM_MAX_FD`] of them, and `SCM_CREDENTIALS` data that is not one
/// `ucred`.
pub fn decode_control(b: &[u8]) -> Result<Vec<Cmsg>, Errno> {
    let mut out = Vec::new();
    let mut at = 0;
    while b.len().saturating_sub(at) >= CMSGHDR_LEN {
        let len = usize::try_from(u64_at(b, at)).map_err(|_| Errno::EINVAL)?;
        if len < CMSGHDR_LEN || len > b.len() - at {
            return Err(Errno::EINVAL);
        }
        let c = Cmsg {
            level: u32_at(b, at + 8) as i32,
            kind: u32_at(b, at + 12) as i32,
            data: b[at + CMSGHDR_LEN..at + len].to_vec(),
        };
        if c.level == libc::SOL_SOCKET {
            let bad = match c.kind {
                libc::SCM_RIGHTS => c.data.len() % 4 != 0 || c.data.len() / 4 > SCM_MAX_FD,
                libc::SCM_CREDENTIALS => c.data.len() != std::mem::size_of::<libc::ucred>(),
                _ => false,
            };
            if bad {
                return Err(Errno::EINVAL);
            }
        }
        out.push(c);
        at = at.saturating_add(align(len));
    }
    Ok(out)
}

/// `msg_control` bytes for `cmsgs`, padded as `CMSG_SPACE` pads.
pub fn encode_control(cmsgs: &[Cmsg]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in cmsgs {
        let len = CMSGHDR_LEN + c.data.len();
        out.extend_from_slice(&(len as u64).to_ne_bytes());
        out.extend_from_slice(&c.level.to_ne_bytes());
        out.extend_from_slice(&c.kind.to_ne_bytes());
        out.extend_from_slice(&c.data);
        out.resize(out.len() + align(len) - len, 0);
    }
    out
}

/// The fds of an `SCM_RIGHTS` message.
pub fn fds_of(c: &Cmsg) -> Vec<i32> {
    c.data.chunks_exact(4).map(|f| i32::from_ne_bytes([f[0], f[1], f[2], f[3]])).collect()
}

/// An `SCM_RIGHTS` message carrying `fds`.
pub fn rights(fds: &[i32]) -> Cmsg {
    Cmsg { level: libc::SOL_SOCKET, kind: libc::SCM_RIGHTS, data: fds.iter().flat_map(|f| f.to_ne_bytes()).collect() }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn cmsg() -> impl Strategy<Value = Cmsg> {
        prop_oneof![
            prop::collection::vec(any::<i32>(), 0..8).prop_map(|f| rights(&f)),
            (any::<i32>(), any::<i32>(), prop::collection::vec(any::<u8>(), 0..40))
                .prop_filter("not SOL_SOCKET", |(l, _, _)| *l != libc::SOL_SOCKET)
                .prop_map(|(level, kind, data)| Cmsg { level, kind, data }),
        ]
    }

    proptest! {
        /// What is encoded decodes to itself.
        #[test]
        fn control_round_trips(cmsgs in prop::collection::vec(cmsg(), 0..5)) {
            prop_assert_eq!(decode_control(&encode_control(&cmsgs)).unwrap(), cmsgs);
        }

        /// Any bytes: an error, or messages that encode to the same walk.
        #[test]
        fn control_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(c) = decode_control(&bytes) {
                prop_assert_eq!(decode_control(&encode_control(&c)).unwrap(), c);
            }
        }
    }

    #[test]
    fn malformed_control_is_einval() {
        let mut one = encode_control(&[rights(&[3])]);
        assert_eq!(decode_control(&one).unwrap(), vec![rights(&[3])]);
        // cmsg_len shorter than the header, and past the end.
        one[0] = 8;
        assert_eq!(decode_control(&one), Err(Errno::EINVAL));
        one[0] = 200;
        assert_eq!(decode_control(&one), Err(Errno::EINVAL));
        // A tail shorter than a header is ignored.
        assert_eq!(decode_control(&[0u8; 15]).unwrap(), vec![]);
        // Fds must be whole ints.
        let odd = encode_control(&[Cmsg { level: libc::SOL_SOCKET, kind: libc::SCM_RIGHTS, data: vec![1, 2, 3] }]);
        assert_eq!(decode_control(&odd), Err(Errno::EINVAL));
    }

    #[test]
    fn msghdr_layout() {
        let mut b = [0u8; MSGHDR_LEN];
        b[0..8].copy_from_slice(&0x1000u64.to_ne_bytes());
        b[8..12].copy_from_slice(&16u32.to_ne_bytes());
        b[16..24].copy_from_slice(&0x2000u64.to_ne_bytes());
        b[24..32].copy_from_slice(&2u64.to_ne_bytes());
        b[32..40].copy_from_slice(&0x3000u64.to_ne_bytes());
        b[40..48].copy_from_slice(&24u64.to_ne_bytes());
        let h = MsgHdr::decode(&b);
        assert_eq!(h, MsgHdr { name: 0x1000, namelen: 16, iov: 0x2000, iovlen: 2, control: 0x3000, controllen: 24 });
        assert_eq!(std::mem::size_of::<libc::msghdr>(), MSGHDR_LEN);
        assert_eq!(std::mem::size_of::<libc::mmsghdr>(), MMSGHDR_LEN);
        assert_eq!(std::mem::size_of::<libc::iovec>(), IOVEC_LEN);
    }
}
