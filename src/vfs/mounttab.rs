//! The mount table a guest reads in `/proc/PID/{mounts,mountinfo,mountstats}`:
//! the view's mounts, and the host mounts beneath its host binds (which
//! the guest reaches through them, as through a recursive bind), not the
//! host's table. Without it `df`, `findmnt` and `mount` list the host's
//! mounts, among them paths the view hides, and miss the private `/tmp`.
//!
//! Rendering is pure: [`Entry`] values in, text out. [`parse_mountinfo`]
//! reads the host's table (the supervisor's `/proc/self/mountinfo`; the
//! guest shares the host's mount namespace, so it is the guest's too).

use std::fmt::Write as _;

/// A line of a host `mountinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostMount {
    /// `major:minor` of its filesystem.
    pub dev: (u32, u32),
    /// The directory of the filesystem mounted here.
    pub root: Vec<u8>,
    /// Where it is mounted (unescaped).
    pub point: Vec<u8>,
    /// Per-mount options, `ro`/`rw` first.
    pub opts: String,
    /// Filesystem type.
    pub fstype: String,
    /// Mount source.
    pub source: String,
    /// Per-superblock options.
    pub superopts: String,
}

/// A mount as the guest's table shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its guest path.
    pub point: Vec<u8>,
    /// `major:minor`, as `stat` reports `st_dev` for files in it.
    pub dev: (u32, u32),
    /// The directory of the filesystem shown here.
    pub root: Vec<u8>,
    /// Per-mount options, `ro`/`rw` first.
    pub opts: String,
    /// Filesystem type.
    pub fstype: String,
    /// Mount source.
    pub source: String,
    /// Per-superblock options.
    pub superopts: String,
}

/// `\ooo` escapes as the kernel writes them (`\040` for a space).
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let oct = field.get(i + 1..i + 4).filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match oct {
            Some(d) => {
                out.push(d.iter().fold(0u8, |v, c| v.wrapping_mul(8).wrapping_add(c - b'0')));
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

/// Escapes what would break a line's fields: space, tab, newline and
/// backslash, as the kernel does.
fn escape(out: &mut String, path: &[u8]) {
    for &b in path {
        match b {
            b' ' | b'\t' | b'\n' | b'\\' => {
                let _ = write!(out, "\\{b:03o}");
            }
            _ => out.push_str(&String::from_utf8_lossy(&[b])),
        }
    }
}

/// Parses a `mountinfo` text; malformed lines are skipped.
pub fn parse_mountinfo(text: &[u8]) -> Vec<HostMount> {
    text.split(|&b| b == b'\n').filter_map(parse_line).collect()
}

fn parse_line(line: &[u8]) -> Option<HostMount> {
    let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let sep = fields.iter().position(|f| *f == b"-")?;
    if sep < 6 || fields.len() < sep + 4 {
        return None;
    }
    let text = |f: &[u8]| String::from_utf8_lossy(f).into_owned();
    let dev = std::str::from_utf8(fields[2]).ok()?.split_once(':')?;
    Some(HostMount {
        dev: (dev.0.parse().ok()?, dev.1.parse().ok()?),
        root: unescape(fields[3]),
        point: unescape(fields[4]),
        opts: text(fields[5]),
        fstype: text(fields[sep + 1]),
        source: text(fields[sep + 2]),
        superopts: text(fields[sep + 3]),
    })
}

/// Whether `path` is `dir` or lies beneath it, component-wise.
pub fn beneath(path: &[u8], dir: &[u8]) -> bool {
    dir == b"/" || path == dir || path.strip_prefix(dir).is_some_and(|r| r.first() == Some(&b'/'))
}

/// `path` relative to `dir` (`""` for `dir` itself), when beneath it.
pub fn relative<'a>(path: &'a [u8], dir: &[u8]) -> Option<&'a [u8]> {
    if !beneath(path, dir) {
        return None;
    }
    let r = if dir == b"/" { path } else { &path[dir.len()..] };
    Some(r.strip_prefix(b"/").unwrap_or(r))
}

/// `dir` joined with relative `rest`.
pub fn join(dir: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut p = dir.to_vec();
    if !rest.is_empty() {
        if p.last() != Some(&b'/') {
            p.push(b'/');
        }
        p.extend_from_slice(rest);
    }
    p
}

/// The host mount a host path lies in: the last-mounted one with the
/// longest mount point above it.
pub fn containing<'a>(mounts: &'a [HostMount], path: &[u8]) -> Option<&'a HostMount> {
    mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| beneath(path, &m.point))
        .max_by_key(|(i, m)| (m.point.len(), *i))
        .map(|(_, m)| m)
}

/// Per-mount options with the view's `ro`/`rw` in front of the rest.
pub fn with_access(opts: &str, writable: bool) -> String {
    let mut out = String::from(if writable { "rw" } else { "ro" });
    for o in opts.split(',').filter(|o| !o.is_empty() && *o != "rw" && *o != "ro") {
        out.push(',');
        out.push_str(o);
    }
    out
}

/// The `/proc/PID/mountinfo` text: mount ids in order, each mount's
/// parent the nearest one before it whose point holds its own.
pub fn mountinfo(entries: &[Entry]) -> String {
    const FIRST_ID: usize = 20;
    let mut out = String::new();
    for (i, e) in entries.iter().enumerate() {
        let parent = entries[..i].iter().rposition(|p| beneath(&e.point, &p.point)).unwrap_or(i);
        let _ = write!(out, "{} {} {}:{} ", FIRST_ID + i, FIRST_ID + parent, e.dev.0, e.dev.1);
        escape(&mut out, &e.root);
        out.push(' ');
        escape(&mut out, &e.point);
        let _ = writeln!(out, " {} - {} {} {}", e.opts, e.fstype, e.source, e.superopts);
    }
    out
}

/// The `/proc/PID/mounts` text (the `fstab` format).
pub fn mounts(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        out.push_str(&e.source);
        out.push(' ');
        escape(&mut out, &e.point);
        let _ = writeln!(out, " {} {} 0 0", e.fstype, e.opts);
    }
    out
}

/// The `/proc/PID/mountstats` text: one `device` line per mount.
pub fn mountstats(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        let _ = write!(out, "device {} mounted on ", e.source);
        escape(&mut out, &e.point);
        let _ = writeln!(out, " with fstype {}", e.fstype);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &[u8] = b"\
29 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
22 29 0:21 / /proc rw,relatime - proc proc rw
23 29 0:22 / /sys rw,nosuid - sysfs sysfs rw
40 29 0:30 /sub /mnt/with\\040space ro,relatime - tmpfs none rw,size=4k
bad line
";

    fn entry(point: &[u8], fstype: &str) -> Entry {
        Entry {
            point: point.to_vec(),
            dev: (0, 1),
            root: b"/".to_vec(),
            opts: "rw".into(),
            fstype: fstype.into(),
            source: fstype.into(),
            superopts: "rw".into(),
        }
    }

    #[test]
    fn host_lines_are_parsed_with_optional_fields_and_escapes() {
        let m = parse_mountinfo(HOST);
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].dev, (254, 0));
        assert_eq!(m[0].fstype, "ext4");
        assert_eq!(m[0].source, "/dev/vda");
        assert_eq!(m[3].point, b"/mnt/with space");
        assert_eq!(m[3].root, b"/sub");
        assert_eq!(m[3].superopts, "rw,size=4k");
    }

    #[test]
    fn the_longest_mount_point_holds_a_path() {
        let m = parse_mountinfo(HOST);
        assert_eq!(containing(&m, b"/proc/1/status").map(|m| m.fstype.as_str()), Some("proc"));
        assert_eq!(containing(&m, b"/procfoo").map(|m| m.fstype.as_str()), Some("ext4"));
        assert_eq!(containing(&m, b"/").map(|m| m.fstype.as_str()), Some("ext4"));
    }

    #[test]
    fn parents_are_the_nearest_mount_above() {
        let e = [entry(b"/", "ext4"), entry(b"/tmp", "tmpfs"), entry(b"/proc", "proc"), entry(b"/tmp/x y", "ext4")];
        let text = mountinfo(&e);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "20 20 0:1 / / rw - ext4 ext4 rw");
        assert_eq!(lines[2], "22 20 0:1 / /proc rw - proc proc rw");
        assert_eq!(lines[3], "23 21 0:1 / /tmp/x\\040y rw - ext4 ext4 rw");
        assert_eq!(mounts(&e[1..2]), "tmpfs /tmp tmpfs rw 0 0\n");
        assert_eq!(mountstats(&e[2..3]), "device proc mounted on /proc with fstype proc\n");
    }

    #[test]
    fn the_views_access_leads_the_options() {
        assert_eq!(with_access("rw,relatime", false), "ro,relatime");
        assert_eq!(with_access("ro,nosuid", true), "rw,nosuid");
        assert_eq!(relative(b"/a/b", b"/a"), Some(&b"b"[..]));
        assert_eq!(relative(b"/a", b"/"), Some(&b"a"[..]));
        assert_eq!(relative(b"/ab", b"/a"), None);
        assert_eq!(join(b"/", b"x"), b"/x");
        assert_eq!(join(b"/d", b""), b"/d");
    }
}
