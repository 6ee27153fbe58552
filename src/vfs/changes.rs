//! What the guest changed on the view's writable mounts, for the report:
//! every path the supervisor created, removed, opened for writing or whose
//! metadata it changed on the guest's behalf, by guest path. Bounded: past
//! [`Changes::KEPT`] paths only the count grows.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::path::GuestPath;

/// What happened to a path (the last thing that did).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Made (a file, directory, node, link, or a rename's new name).
    Created,
    /// Opened for writing or truncated.
    Written,
    /// Mode, owner, times or extended attributes changed.
    Metadata,
    /// Removed (or renamed away).
    Removed,
}

impl Change {
    /// The word used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Written => "written",
            Change::Metadata => "metadata",
            Change::Removed => "removed",
        }
    }
}

/// The changed paths of one sandbox.
#[derive(Debug, Default)]
pub struct Changes {
    inner: Mutex<(BTreeMap<String, Change>, u64)>,
}

impl Changes {
    /// Paths kept by name.
    pub const KEPT: usize = 4096;

    /// Records `what` happened to `path`.
    pub fn record(&self, path: &GuestPath, what: Change) {
        let name = String::from_utf8_lossy(path.as_bytes()).into_owned();
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (paths, total) = &mut *g;
        if let Some(w) = paths.get_mut(&name) {
            // Created then written is still created, written then chmod'ed
            // still written; anything then removed is removed; removed then
            // made again is created.
            *w = match (*w, what) {
                (Change::Created, Change::Written | Change::Metadata) => Change::Created,
                (Change::Written, Change::Metadata) => Change::Written,
                (_, w) => w,
            };
        } else {
            *total += 1;
            if paths.len() < Self::KEPT {
                paths.insert(name, what);
            }
        }
    }

    /// The paths (sorted) and how many distinct paths changed in all.
    pub fn list(&self) -> (Vec<(String, Change)>, u64) {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (g.0.iter().map(|(p, w)| (p.clone(), *w)).collect(), g.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_change_wins_but_a_new_file_stays_created() {
        let c = Changes::default();
        let p = |s: &str| GuestPath::new(s.as_bytes()).unwrap();
        c.record(&p("/tmp/a"), Change::Created);
        c.record(&p("/tmp/a"), Change::Written);
        c.record(&p("/tmp/b"), Change::Written);
        c.record(&p("/tmp/b"), Change::Removed);
        let (list, n) = c.list();
        assert_eq!(n, 2);
        assert_eq!(list, vec![("/tmp/a".into(), Change::Created), ("/tmp/b".into(), Change::Removed)]);
    }
}
