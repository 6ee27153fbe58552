//! Disk budgets: `--disk BYTES` for what the guest adds across its
//! writable mounts (tmpfs, binds, overlay uppers; past it writes fail with
//! `EDQUOT`), and `--tmpfs DEST --size BYTES` for one private tmpfs (past
//! it `ENOSPC`, as a full tmpfs answers). Counted in bytes of file size.
//!
//! Every regular file the guest opens for writing in the view is tracked
//! by inode, with a *baseline*: its size before the guest's open (0 for a
//! file it creates, or one an overlay copies up for it, since the upper
//! layer gains all of it). What a file adds is its size now minus its
//! baseline; a file the guest removes (its last link) gives back its size.
//! Each budget is a *pool*; a file books into the `--disk` pool and into
//! the pool of its mount if that mount has a size. With any budget, every
//! call that can make a file larger is notified (`table.rs`,
//! [`crate::table::Facet::Disk`]); the handler (`handlers/disk.rs`)
//! refreshes that file's size and refuses the call when the growth it asks
//! for does not fit every pool of the file. Calls on files the view did
//! not hand out for writing (pipes, terminals, the caller's own
//! redirections) pass untouched.
//!
//! A file removed while the guest still holds it open keeps its room: the
//! monitor finds such files (`(deleted)` targets of the sandbox's fds in a
//! writable mount) on every tick and they count, whole, until the last fd
//! is closed ([`DiskUsage::set_held`]); a write to one is checked like any
//! other.
//!
//! What it does not count: directories, symlinks and file metadata;
//! blocks (a sparse file counts its size); copies an overlay makes for a
//! metadata change (`chmod` of a source file); and a race in which a
//! second guest thread swaps the fd between the check and the write
//! (the call then runs on a file the check did not see: a way past the
//! budget, not out of the view).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use nix::errno::Errno;

/// What one budget covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every writable mount (`--disk`).
    All,
    /// One mount, by its index in the view's table (`--tmpfs --size`).
    Mount(usize),
}

impl Scope {
    /// Whether a file in mount `mount` counts in this budget.
    fn covers(self, mount: usize) -> bool {
        self == Scope::All || self == Scope::Mount(mount)
    }
}

#[derive(Debug)]
struct Pool {
    scope: Scope,
    budget: u64,
    /// Bytes added net (negative when the guest removed more than it wrote).
    net: i64,
}

#[derive(Debug)]
struct File {
    /// Its size when last seen (at first, its size before the guest's
    /// open: its baseline).
    last: u64,
    /// The pools it books into.
    pools: Vec<usize>,
}

#[derive(Debug, Default)]
struct State {
    pools: Vec<Pool>,
    files: HashMap<(u64, u64), File>,
    /// Regular files found not to lie in a writable mount (a redirection
    /// of the caller's): never counted, never looked up again.
    ignored: HashSet<(u64, u64)>,
    /// Removed files that may still be held open: (size, mount index,
    /// generation). A removal puts the file here; the monitor's next scan
    /// keeps it only if some fd still holds it.
    held: HashMap<(u64, u64), (u64, usize, u64)>,
    /// Counts the monitor's scans.
    generation: u64,
}

/// The disk budgets of one sandbox.
#[derive(Debug)]
pub struct DiskUsage {
    state: Mutex<State>,
    /// Writes the `--disk` budget refused.
    refused: AtomicU64,
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl DiskUsage {
    /// Budgets: `(scope, bytes)`.
    pub fn new(budgets: &[(Scope, u64)]) -> DiskUsage {
        let pools = budgets.iter().map(|&(scope, budget)| Pool { scope, budget, net: 0 }).collect();
        DiskUsage { state: Mutex::new(State { pools, ..State::default() }), refused: AtomicU64::new(0) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `--disk` budget, if there is one.
    pub fn budget(&self) -> Option<u64> {
        self.lock().pools.iter().find(|p| p.scope == Scope::All).map(|p| p.budget)
    }

    /// Starts tracking a file in mount `mount` that the guest opened for
    /// writing, whose size before the open was `baseline` (a file already
    /// tracked keeps its own). A file no budget covers is not tracked.
    pub fn track(&self, key: (u64, u64), baseline: u64, mount: usize) {
        let mut s = self.lock();
        if s.files.contains_key(&key) {
            return;
        }
        // A file opened by its name: a removed one held under the same
        // inode number is gone (a number is reused only once nothing
        // holds the file), or its room would be given back with the new
        // file's growth in it.
        s.held.remove(&key);
        let pools: Vec<usize> = (0..s.pools.len()).filter(|&i| s.pools[i].scope.covers(mount)).collect();
        if pools.is_empty() {
            s.ignored.insert(key);
            return;
        }
        s.files.insert(key, File { last: baseline, pools });
    }

    /// Whether the file is tracked.
    pub fn tracks(&self, key: (u64, u64)) -> bool {
        self.lock().files.contains_key(&key)
    }

    /// Whether the file was found to lie outside the budgets.
    pub fn ignores(&self, key: (u64, u64)) -> bool {
        self.lock().ignored.contains(&key)
    }

    /// Remembers that the file lies outside the budgets.
    pub fn ignore(&self, key: (u64, u64)) {
        let mut s = self.lock();
        if s.ignored.len() >= 4096 {
            s.ignored.clear();
        }
        s.ignored.insert(key);
    }

    /// Starts a scan for removed files held open; pass the result to
    /// [`DiskUsage::set_held`].
    pub fn scan_started(&self) -> u64 {
        let mut s = self.lock();
        s.generation += 1;
        s.generation
    }

    /// What the scan begun at generation `gen` found held open: key ->
    /// (size, mount index). Files removed since it began stay held until
    /// the next scan.
    pub fn set_held(&self, found: HashMap<(u64, u64), (u64, usize)>, gen: u64) {
        let mut s = self.lock();
        let mut held: HashMap<_, _> = found.into_iter().map(|(k, (n, m))| (k, (n, m, gen))).collect();
        for (k, v) in s.held.drain() {
            if v.2 >= gen {
                held.entry(k).or_insert(v);
            }
        }
        s.held = held;
    }

    /// A removed file still held open, seen by a write before the monitor
    /// did: it counts from now.
    pub fn hold(&self, key: (u64, u64), size: u64, mount: usize) {
        let mut s = self.lock();
        let gen = s.generation;
        s.held.entry(key).or_insert((size, mount, gen));
    }

    /// Whether any removed file is counted as held (a refusal may then be
    /// worth a fresh scan).
    pub fn has_held(&self) -> bool {
        !self.lock().held.is_empty()
    }

    /// Whether the file is a removed one still held open.
    pub fn holds(&self, key: (u64, u64)) -> bool {
        self.lock().held.contains_key(&key)
    }

    /// Asks whether a tracked (or held) file now `size` bytes long may
    /// grow to `end` bytes: booked when it fits every pool of the file;
    /// otherwise `ENOSPC` (a mount's size) or `EDQUOT` (the `--disk`
    /// budget). Untracked files always may.
    pub fn grow(&self, key: (u64, u64), size: u64, end: u64) -> Result<(), Errno> {
        let mut guard = self.lock();
        let s = &mut *guard;
        let growth = signed(end.max(size)) - signed(size);
        let held_in = |s: &State, scope: Scope| -> i64 {
            s.held.iter().filter(|(k, (_, m, _))| **k != key && scope.covers(*m)).map(|(_, (n, _, _))| signed(*n)).sum()
        };
        if let Some(&(_, mount, gen)) = s.held.get(&key) {
            let full = s.pools.iter().find(|p| {
                p.scope.covers(mount)
                    && growth > 0
                    && p.net + held_in(s, p.scope) + signed(size) + growth > signed(p.budget)
            });
            if let Some(pool) = full {
                return Err(self.refusal(pool.scope));
            }
            s.held.insert(key, (end.max(size), mount, gen));
            return Ok(());
        }
        let held: Vec<i64> = s.pools.iter().map(|p| held_in(s, p.scope)).collect();
        let Some(f) = s.files.get_mut(&key) else { return Ok(()) };
        // What happened since we last looked (a truncation, a write that
        // ran natively) first.
        let seen = signed(size) - signed(f.last);
        for &p in &f.pools {
            s.pools[p].net += seen;
        }
        f.last = size;
        let full =
            f.pools.iter().find(|&&p| growth > 0 && s.pools[p].net + held[p] + growth > signed(s.pools[p].budget));
        if let Some(&p) = full {
            return Err(self.refusal(s.pools[p].scope));
        }
        for &p in &f.pools {
            s.pools[p].net += growth;
        }
        f.last = end.max(size);
        Ok(())
    }

    fn refusal(&self, scope: Scope) -> Errno {
        match scope {
            Scope::Mount(_) => Errno::ENOSPC,
            Scope::All => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                Errno::EDQUOT
            }
        }
    }

    /// The guest removed the last name of a file in mount `mount`, `size`
    /// bytes long: all of it goes from every pool that covers it, into
    /// what removed files hold, until a scan finds no fd holding it.
    pub fn removed(&self, key: (u64, u64), size: u64, mount: usize) {
        let mut guard = self.lock();
        let s = &mut *guard;
        let last = match s.files.remove(&key) {
            Some(f) => {
                for &p in &f.pools {
                    s.pools[p].net -= signed(f.last);
                }
                f.last.max(size)
            }
            None => {
                for p in &mut s.pools {
                    if p.scope.covers(mount) {
                        p.net -= signed(size);
                    }
                }
                size
            }
        };
        // The next scan (a later generation) decides whether it is open.
        let gen = s.generation;
        s.held.insert(key, (last, mount, gen));
    }

    /// Bytes added net so far in the pool of `scope`.
    pub fn added(&self, scope: Scope) -> Option<i64> {
        self.lock().pools.iter().find(|p| p.scope == scope).map(|p| p.net)
    }

    /// How many calls the `--disk` budget refused.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_spent_by_growth_and_given_back_by_removal() {
        let d = DiskUsage::new(&[(Scope::All, 100)]);
        let (a, b) = ((1, 1), (1, 2));
        d.track(a, 0, 0);
        assert_eq!(d.grow(a, 0, 60), Ok(()));
        assert_eq!(d.grow(a, 60, 120), Err(Errno::EDQUOT), "60 + 60 > 100");
        assert_eq!(d.grow(a, 60, 100), Ok(()));
        assert_eq!(d.added(Scope::All), Some(100));
        // An existing 500-byte file: rewriting it in place adds nothing.
        d.track(b, 500, 0);
        assert_eq!(d.grow(b, 500, 500), Ok(()));
        assert_eq!(d.grow(b, 500, 501), Err(Errno::EDQUOT));
        // Removing the new file gives its 100 bytes back once a scan finds
        // no fd holding it.
        d.removed(a, 100, 0);
        assert_eq!(d.grow(b, 500, 600), Err(Errno::EDQUOT), "still held, as far as anyone knows");
        let gen = d.scan_started();
        d.set_held(HashMap::new(), gen);
        assert_eq!(d.added(Scope::All), Some(0));
        assert_eq!(d.grow(b, 500, 600), Ok(()));
        // Removing an old untracked file makes room.
        d.removed((9, 9), 50, 0);
        let gen = d.scan_started();
        d.set_held(HashMap::new(), gen);
        assert_eq!(d.added(Scope::All), Some(50));
        assert_eq!(d.grow((7, 7), 0, 1 << 40), Ok(()), "untracked files pass");
        assert_eq!(d.refused(), 3);
    }

    /// A file made under a removed file's inode number (ext4 reuses them
    /// at once) is a new file: its growth stays booked when a scan later
    /// finds nothing holding the removed one.
    #[test]
    fn a_new_file_under_a_removed_ones_inode_number_is_counted() {
        let d = DiskUsage::new(&[(Scope::All, 100)]);
        let a = (1, 1);
        d.track(a, 0, 0);
        assert_eq!(d.grow(a, 0, 80), Ok(()));
        d.removed(a, 80, 0);
        // The same number, opened by its new name.
        d.track(a, 0, 0);
        assert!(!d.holds(a));
        assert_eq!(d.grow(a, 0, 60), Ok(()));
        let gen = d.scan_started();
        d.set_held(HashMap::new(), gen);
        assert_eq!(d.added(Scope::All), Some(60));
        d.track((1, 2), 0, 0);
        assert_eq!(d.grow((1, 2), 0, 41), Err(Errno::EDQUOT), "60 of 100 are spent");
    }

    #[test]
    fn a_removed_file_held_open_keeps_its_room() {
        let d = DiskUsage::new(&[(Scope::All, 100)]);
        let (a, b) = ((1, 1), (1, 2));
        d.track(a, 0, 0);
        assert_eq!(d.grow(a, 0, 100), Ok(()));
        // A scan that began before the removal does not free it.
        let early = d.scan_started();
        d.removed(a, 100, 0);
        d.set_held(HashMap::new(), early);
        d.track(b, 0, 0);
        assert_eq!(d.grow(b, 0, 1), Err(Errno::EDQUOT), "a's 100 bytes are still held");
        // The monitor finds a still open: still held, and writes to it count.
        let gen = d.scan_started();
        d.set_held([(a, (100, 0))].into_iter().collect(), gen);
        assert_eq!(d.grow(b, 0, 1), Err(Errno::EDQUOT));
        assert!(d.holds(a));
        assert_eq!(d.grow(a, 100, 101), Err(Errno::EDQUOT));
        // Closed: the next scan finds nothing, and the room is back.
        let gen = d.scan_started();
        d.set_held(HashMap::new(), gen);
        assert_eq!(d.grow(b, 0, 100), Ok(()));
    }

    #[test]
    fn a_truncation_seen_late_is_booked_before_the_next_growth() {
        let d = DiskUsage::new(&[(Scope::All, 100)]);
        d.track((1, 1), 0, 0);
        assert_eq!(d.grow((1, 1), 0, 100), Ok(()));
        // The guest truncated it to 0 meanwhile (O_TRUNC opens are not
        // checked).
        assert_eq!(d.grow((1, 1), 0, 100), Ok(()));
        assert_eq!(d.added(Scope::All), Some(100));
    }

    #[test]
    fn a_sized_mount_fills_on_its_own_and_inside_the_disk_budget() {
        let d = DiskUsage::new(&[(Scope::All, 100), (Scope::Mount(3), 30)]);
        let (small, other) = ((1, 1), (1, 2));
        d.track(small, 0, 3);
        d.track(other, 0, 5);
        assert_eq!(d.grow(small, 0, 31), Err(Errno::ENOSPC));
        assert_eq!(d.grow(small, 0, 30), Ok(()));
        assert_eq!(d.grow(other, 0, 71), Err(Errno::EDQUOT), "30 in the tmpfs count against --disk too");
        assert_eq!(d.grow(other, 0, 70), Ok(()));
        // Without --disk, a file in an unsized mount is not tracked.
        let only = DiskUsage::new(&[(Scope::Mount(3), 10)]);
        only.track(other, 0, 5);
        assert!(!only.tracks(other) && only.ignores(other));
        assert_eq!(only.budget(), None);
    }
}
