//! Directory entries as `getdents64(2)` and the old `getdents(2)` lay them
//! out: decoding the host's records and encoding the listings the
//! supervisor makes. Pure; fuzzed through [`decode64`].

/// One directory entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Inode number (`d_ino`).
    pub ino: u64,
    /// `DT_*` type.
    pub kind: u8,
    /// The name (no NUL).
    pub name: Vec<u8>,
}

/// The `linux_dirent64` records in `buf` (what `getdents64` returned).
/// Stops at the first malformed record.
pub fn decode64(buf: &[u8]) -> Vec<DirEntry> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while let Some(head) = buf.get(at..at + 19) {
        let reclen = usize::from(u16::from_ne_bytes([head[16], head[17]]));
        let Some(rec) = buf.get(at..at + reclen).filter(|_| reclen >= 20) else { break };
        let name = &rec[19..];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        out.push(DirEntry {
            ino: u64::from_ne_bytes(head[0..8].try_into().unwrap_or_default()),
            kind: head[18],
            name: name.to_vec(),
        });
        at += reclen;
    }
    out
}

/// The record layout a guest asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `struct linux_dirent64` (`getdents64`).
    Dirent64,
    /// `struct linux_dirent` (the old `getdents`): `d_type` after the name.
    Dirent,
}

/// Encodes `entries[start..]` into at most `max` bytes; each record's
/// `d_off` is the index of the entry after it (the position the directory
/// is then at). Returns the bytes and how many entries fit.
pub fn encode(entries: &[DirEntry], start: usize, max: usize, layout: Layout) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut n = 0;
    for (i, e) in entries.iter().enumerate().skip(start) {
        let (head, tail) = match layout {
            Layout::Dirent64 => (19, 1),
            Layout::Dirent => (18, 2),
        };
        let reclen = (head + e.name.len() + tail + 7) & !7;
        if out.len() + reclen > max {
            break;
        }
        let mut rec = vec![0u8; reclen];
        rec[0..8].copy_from_slice(&e.ino.to_ne_bytes());
        rec[8..16].copy_from_slice(&((i + 1) as i64).to_ne_bytes());
        rec[16..18].copy_from_slice(&(reclen as u16).to_ne_bytes());
        match layout {
            Layout::Dirent64 => {
                rec[18] = e.kind;
                rec[19..19 + e.name.len()].copy_from_slice(&e.name);
            }
            Layout::Dirent => {
                rec[18..18 + e.name.len()].copy_from_slice(&e.name);
                rec[reclen - 1] = e.kind;
            }
        }
        out.extend_from_slice(&rec);
        n += 1;
    }
    (out, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry() -> impl Strategy<Value = DirEntry> {
        (any::<u64>(), 0u8..15, prop::collection::vec(1u8..=255, 1..40).prop_filter("no slash", |n| !n.contains(&b'/')))
            .prop_map(|(ino, kind, name)| DirEntry { ino, kind, name })
    }

    proptest! {
        #[test]
        fn encoded_dirent64_decodes_to_the_same_entries(
            entries in prop::collection::vec(entry(), 0..30),
            start in 0usize..35,
            max in 0usize..2000,
        ) {
            let (bytes, n) = encode(&entries, start, max, Layout::Dirent64);
            prop_assert!(bytes.len() <= max);
            let want: Vec<DirEntry> = entries.iter().skip(start).take(n).cloned().collect();
            prop_assert_eq!(decode64(&bytes), want);
            // Records are 8-aligned, and they stop only when the next one
            // would not fit.
            prop_assert_eq!(bytes.len() % 8, 0);
            if let Some(next) = entries.get(start + n) {
                prop_assert!(bytes.len() + ((19 + next.name.len() + 1 + 7) & !7) > max);
            }
        }
    }

    #[test]
    fn decodes_what_the_kernel_writes() {
        let dir = std::fs::File::open("/").expect("open /");
        let mut buf = vec![0u8; 65536];
        let n = crate::sys::getdents64(std::os::fd::AsFd::as_fd(&dir), &mut buf).expect("getdents64");
        let names: Vec<Vec<u8>> = decode64(&buf[..n]).into_iter().map(|e| e.name).collect();
        assert!(names.contains(&b"..".to_vec()) && names.contains(&b"proc".to_vec()), "{names:?}");
    }
}
