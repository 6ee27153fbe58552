//! `--disk BYTES`: what the guest adds to its writable mounts (tmpfs,
//! binds, overlay uppers), counted in bytes of file size, and refused past
//! the budget with `EDQUOT`.
//!
//! Every regular file the guest opens for writing in the view is tracked
//! by inode, with a *baseline*: its size before the guest's open (0 for a
//! file it creates, or one an overlay copies up for it, since the upper
//! layer gains all of it). What a file adds is its size now minus its
//! baseline; a file the guest removes (its last link) gives back its
//! baseline, so deleting old files makes room as on a real disk. With
//! `--disk`, every call that can make a file larger is notified
//! (`table.rs`, [`crate::table::Facet::Disk`]); the handler
//! (`handlers/disk.rs`) refreshes that file's size and refuses the call
//! when the growth it asks for does not fit. Calls on files the view did
//! not hand out for writing (pipes, terminals, the caller's own
//! redirections) pass untouched.
//!
//! What it does not count: directories, symlinks and file metadata;
//! blocks (a sparse file counts its size); copies an overlay makes for a
//! metadata change (`chmod` of a source file); and a race in which a
//! second guest thread swaps the fd between the check and the write
//! (the call then runs on a file the check did not see: a way past the
//! budget, not out of the view).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The account of one sandbox's disk budget.
#[derive(Debug)]
pub struct DiskUsage {
    budget: u64,
    state: Mutex<State>,
    refused: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    /// Regular files found not to lie in a writable mount (a redirection
    /// of the caller's): never counted, never looked up again.
    ignored: std::collections::HashSet<(u64, u64)>,
    /// Bytes added net (can be negative: the guest removed more than it
    /// wrote).
    net: i64,
    /// Tracked files by (device, inode): (baseline, size last seen).
    files: HashMap<(u64, u64), (u64, u64)>,
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl DiskUsage {
    /// A budget of `budget` bytes.
    pub fn new(budget: u64) -> DiskUsage {
        DiskUsage { budget, state: Mutex::default(), refused: AtomicU64::new(0) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The budget.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Starts tracking a file the guest opened for writing, whose size
    /// before the open was `baseline` (a file already tracked keeps its
    /// own).
    pub fn track(&self, key: (u64, u64), baseline: u64) {
        self.lock().files.entry(key).or_insert((baseline, baseline));
    }

    /// Whether the file is tracked.
    pub fn tracks(&self, key: (u64, u64)) -> bool {
        self.lock().files.contains_key(&key)
    }

    /// Whether the file was found to lie outside the writable mounts.
    pub fn ignores(&self, key: (u64, u64)) -> bool {
        self.lock().ignored.contains(&key)
    }

    /// Remembers that the file lies outside the writable mounts.
    pub fn ignore(&self, key: (u64, u64)) {
        let mut s = self.lock();
        if s.ignored.len() >= 4096 {
            s.ignored.clear();
        }
        s.ignored.insert(key);
    }

    /// Asks whether a tracked file now `size` bytes long may grow to
    /// `end` bytes: `true` (and the growth is booked) when it fits.
    /// Untracked files always may.
    pub fn grow(&self, key: (u64, u64), size: u64, end: u64) -> bool {
        let mut s = self.lock();
        let Some(&(baseline, last)) = s.files.get(&key) else { return true };
        // What happened since we last looked (a truncation, a write that
        // ran natively) first.
        s.net += signed(size) - signed(last);
        let new = end.max(size);
        let growth = signed(new) - signed(size);
        if growth > 0 && s.net + growth > signed(self.budget) {
            s.files.insert(key, (baseline, size));
            drop(s);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        s.net += growth;
        s.files.insert(key, (baseline, new));
        true
    }

    /// The guest removed the last name of a file of `size` bytes: a
    /// tracked one gives back its baseline (what it adds goes too), an
    /// untracked one its size.
    pub fn removed(&self, key: (u64, u64), size: u64) {
        let mut s = self.lock();
        match s.files.remove(&key) {
            // It added `last - baseline`, and its baseline was there
            // before: all of `last` goes.
            Some((_, last)) => s.net -= signed(last),
            None => s.net -= signed(size),
        }
    }

    /// Bytes added net so far.
    pub fn added(&self) -> i64 {
        self.lock().net
    }

    /// How many calls the budget refused.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_spent_by_growth_and_given_back_by_removal() {
        let d = DiskUsage::new(100);
        let (a, b) = ((1, 1), (1, 2));
        d.track(a, 0);
        assert!(d.grow(a, 0, 60));
        assert!(!d.grow(a, 60, 120), "60 + 60 > 100");
        assert!(d.grow(a, 60, 100));
        assert_eq!(d.added(), 100);
        // An existing 500-byte file: rewriting it in place adds nothing.
        d.track(b, 500);
        assert!(d.grow(b, 500, 500));
        assert!(!d.grow(b, 500, 501));
        // Removing the new file gives its 100 bytes back.
        d.removed(a, 100);
        assert_eq!(d.added(), 0);
        assert!(d.grow(b, 500, 600));
        // Removing an old untracked file makes room.
        d.removed((9, 9), 50);
        assert_eq!(d.added(), 50);
        assert!(d.grow((7, 7), 0, 1 << 40), "untracked files pass");
        assert_eq!(d.refused(), 2);
    }

    #[test]
    fn a_truncation_seen_late_is_booked_before_the_next_growth() {
        let d = DiskUsage::new(100);
        d.track((1, 1), 0);
        assert!(d.grow((1, 1), 0, 100));
        // The guest truncated it to 0 meanwhile (a native ftruncate would
        // be notified, but O_TRUNC opens are not).
        assert!(d.grow((1, 1), 0, 100));
        assert_eq!(d.added(), 100);
    }
}
