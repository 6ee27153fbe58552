//! The guest's filesystem view: what it is made of ([`mount`]) and how a
//! guest path is resolved in it ([`resolve()`]).
//!
//! # Security reasoning
//!
//! The guest must never read or write a host path outside the view it was
//! given. Two things could take it there: the kernel resolving a path the
//! guest controls, and the guest changing a path after the supervisor
//! checked it. So the supervisor never lets the kernel resolve a guest
//! path against the host's tree: it reads the path argument from guest
//! memory once, resolves it here, in userspace, against the view's mount
//! table (never re-reading guest memory), and then opens only the result,
//! beneath the chosen mount's host root, injecting the fd into the guest.
//! Absolute symlinks restart from the view's root and `..` is clamped at
//! it, so no path, however it is spelt or wherever its symlinks point, can
//! leave the view. Landlock, built from the same mount table, is the
//! backstop should this code be wrong.
//!
//! This part is pure (no syscalls, no host filesystem access): the mount
//! table is data, and what lies inside the mounts is asked of an [`Fs`],
//! which tests implement with an in-memory tree. The resolver is checked
//! against a deliberately simple reference model with proptest, and fuzzed
//! (`fuzz/fuzz_targets/resolve_path.rs`).

pub mod changes;
pub mod dirent;
pub mod disk;
pub mod grants;
pub mod host;
#[cfg(test)]
mod kernel_check;
pub mod mount;
pub mod mounttab;
pub mod overlay;
mod path;
#[cfg(test)]
mod reference;
pub mod resolve;

pub use changes::{Change, Changes};
pub use grants::{covered, grants, Grant};
pub use host::{GuestCtx, Host, HostError};
pub use mount::{
    build_view, Base, ListingChanges, Lookup, Mount, MountError, MountId, MountKind, MountSpec, Origin, Synthetic, View,
};
pub use path::{GuestPath, PathError, NAME_MAX, PATH_MAX};
pub use resolve::{resolve, resolve_bounded, resolve_or_missing, Bounds, Fs, NodeKind, Resolved, MAX_SYMLINKS};
