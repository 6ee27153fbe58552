//! Guest paths: absolute, normalised, byte strings.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The longest path a caller may pass to the kernel, counting the
/// terminating NUL (`PATH_MAX`): a path argument of 4096 bytes or more is
/// `ENAMETOOLONG`.
pub const PATH_MAX: usize = 4096;

/// The longest file name (one path component) Linux filesystems accept
/// (`NAME_MAX`); a longer component is `ENAMETOOLONG` when it is looked up.
pub const NAME_MAX: usize = 255;

/// An absolute, normalised path in the guest's view: it starts with `/`,
/// has no empty, `.` or `..` component, no trailing slash (except `/`
/// itself) and no NUL byte.
///
/// A `GuestPath` names a place in the *guest's* tree, never on the host;
/// [`crate::vfs::View::lookup`] says which mount holds it. Its length is
/// not bounded by [`PATH_MAX`]: resolution through symlinks can reach paths
/// longer than any single path argument, as on Linux.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GuestPath(Vec<u8>);

/// Why bytes are not a [`GuestPath`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path does not start with `/`.
    #[error("is not absolute")]
    NotAbsolute,
    /// The path has a `..` component, whose meaning depends on symlinks.
    #[error("has a `..` component")]
    DotDot,
    /// The path contains a NUL byte, which no path argument can.
    #[error("contains a NUL byte")]
    Nul,
}

impl GuestPath {
    /// The root of the view, `/`.
    pub fn root() -> GuestPath {
        GuestPath(vec![b'/'])
    }

    /// Normalises an absolute path lexically: empty and `.` components and
    /// trailing slashes are dropped. `..` is refused rather than folded,
    /// because folding it is only right when nothing before it is a
    /// symlink; use [`crate::vfs::resolve()`] for paths that may have it.
    pub fn new(bytes: &[u8]) -> Result<GuestPath, PathError> {
        if bytes.contains(&0) {
            return Err(PathError::Nul);
        }
        if bytes.first() != Some(&b'/') {
            return Err(PathError::NotAbsolute);
        }
        let mut path = GuestPath(Vec::with_capacity(bytes.len()));
        path.0.push(b'/');
        for name in bytes.split(|&b| b == b'/') {
            match name {
                b"" | b"." => {}
                b".." => return Err(PathError::DotDot),
                name => path.push(name),
            }
        }
        Ok(path)
    }

    /// [`GuestPath::new`] for a [`Path`].
    pub fn from_path(path: &Path) -> Result<GuestPath, PathError> {
        GuestPath::new(path.as_os_str().as_bytes())
    }

    /// The path's bytes, e.g. `b"/usr/lib"`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The path as a [`Path`] (for messages and for building host paths).
    pub fn as_path(&self) -> &Path {
        Path::new(OsStr::from_bytes(&self.0))
    }

    /// Whether this is `/`.
    pub fn is_root(&self) -> bool {
        self.0.len() == 1
    }

    /// The names from the root down (none for `/`).
    pub fn components(&self) -> impl Iterator<Item = &[u8]> {
        self.0.split(|&b| b == b'/').filter(|c| !c.is_empty())
    }

    /// Whether `base` is this path or one of its ancestors, component-wise:
    /// `/tmpfoo` does not start with `/tmp`.
    pub fn starts_with(&self, base: &GuestPath) -> bool {
        self.strip_prefix(base).is_some()
    }

    /// The part of this path under `base`, without a leading slash (empty
    /// when they are equal), or `None` when `base` is not this path or an
    /// ancestor of it.
    pub fn strip_prefix(&self, base: &GuestPath) -> Option<&[u8]> {
        if base.is_root() {
            return self.0.get(1..);
        }
        let rest = self.0.strip_prefix(base.0.as_slice())?;
        match rest.first() {
            None => Some(rest),
            Some(b'/') => rest.get(1..),
            Some(_) => None,
        }
    }

    /// The parent directory; `None` for `/`.
    pub fn parent(&self) -> Option<GuestPath> {
        if self.is_root() {
            return None;
        }
        let mut parent = self.clone();
        parent.pop();
        Some(parent)
    }

    /// The last component; `None` for `/`.
    pub fn file_name(&self) -> Option<&[u8]> {
        self.components().last()
    }

    /// The joined path, for callers that hold a valid name (no `/`, not
    /// empty, `.` or `..`, no NUL); `None` otherwise.
    pub fn join(&self, name: &[u8]) -> Option<GuestPath> {
        if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0) {
            return None;
        }
        let mut joined = self.clone();
        joined.push(name);
        Some(joined)
    }

    /// Appends one name. The caller guarantees it is a valid name (see
    /// [`GuestPath::join`]).
    pub(crate) fn push(&mut self, name: &[u8]) {
        debug_assert!(!name.is_empty() && name != b"." && name != b".." && !name.contains(&b'/'));
        if !self.is_root() {
            self.0.push(b'/');
        }
        self.0.extend_from_slice(name);
    }

    /// Removes the last name; `/` stays `/` (this is how `..` is clamped to
    /// the view's root).
    pub(crate) fn pop(&mut self) {
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(0) | None => self.0.truncate(1),
            Some(i) => self.0.truncate(i),
        }
    }

    /// Length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for GuestPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl fmt::Debug for GuestPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GuestPath(\"{}\")", self.0.escape_ascii())
    }
}

impl From<GuestPath> for PathBuf {
    fn from(path: GuestPath) -> PathBuf {
        PathBuf::from(std::ffi::OsString::from(OsStr::from_bytes(&path.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> GuestPath {
        GuestPath::new(s.as_bytes()).unwrap()
    }

    #[test]
    fn normalises() {
        assert_eq!(p("//a/./b//c/").as_bytes(), b"/a/b/c");
        assert_eq!(p("/").as_bytes(), b"/");
        assert_eq!(p("/./").as_bytes(), b"/");
        assert_eq!(GuestPath::new(b"a/b"), Err(PathError::NotAbsolute));
        assert_eq!(GuestPath::new(b""), Err(PathError::NotAbsolute));
        assert_eq!(GuestPath::new(b"/a/../b"), Err(PathError::DotDot));
        assert_eq!(GuestPath::new(b"/a\0"), Err(PathError::Nul));
    }

    #[test]
    fn prefixes_are_component_wise() {
        assert!(!p("/tmpfoo").starts_with(&p("/tmp")));
        assert!(p("/tmp/foo").starts_with(&p("/tmp")));
        assert!(p("/tmp").starts_with(&p("/tmp")));
        assert!(p("/tmp").starts_with(&p("/")));
        assert_eq!(p("/tmp/a/b").strip_prefix(&p("/tmp")), Some(&b"a/b"[..]));
        assert_eq!(p("/tmp").strip_prefix(&p("/tmp")), Some(&b""[..]));
        assert_eq!(p("/tmp").strip_prefix(&p("/")), Some(&b"tmp"[..]));
        assert_eq!(p("/").strip_prefix(&p("/")), Some(&b""[..]));
        assert_eq!(p("/").strip_prefix(&p("/a")), None);
    }

    #[test]
    fn push_pop_parent() {
        let mut a = GuestPath::root();
        a.pop();
        assert!(a.is_root());
        a.push(b"x");
        a.push(b"y");
        assert_eq!(a.as_bytes(), b"/x/y");
        assert_eq!(a.parent(), Some(p("/x")));
        assert_eq!(a.file_name(), Some(&b"y"[..]));
        a.pop();
        a.pop();
        assert!(a.is_root());
        assert_eq!(a.parent(), None);
        assert_eq!(p("/a").join(b".."), None);
        assert_eq!(p("/a").join(b"b"), Some(p("/a/b")));
        assert_eq!(p("/a/b").components().collect::<Vec<_>>(), vec![&b"a"[..], &b"b"[..]]);
        assert_eq!(PathBuf::from(p("/a/b")), PathBuf::from("/a/b"));
    }
}
