//! Putting the guest into its view before it starts: the Landlock ruleset
//! that confines its own filesystem access to the view's host directories,
//! and the host paths of its first program and working directory.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::launch::Spec;
use crate::sys::{self, landlock as ll};
use crate::vfs::{grants, GuestCtx, GuestPath, Host, NodeKind};

/// Every filesystem right Landlock ABI `abi` knows.
fn handled(abi: u32) -> u64 {
    let mut r = ll::EXECUTE | ll::WRITE_FILE | ll::READ_FILE | ll::READ_DIR | ll::CHANGE_V1;
    if abi >= 2 {
        r |= ll::REFER;
    }
    if abi >= 3 {
        r |= ll::TRUNCATE;
    }
    if abi >= 5 {
        r |= ll::IOCTL_DEV;
    }
    r
}

/// The guest's Landlock ruleset: read (and execute) beneath every host
/// directory the view shows, everything beneath the writable ones, nothing
/// elsewhere; plus the scopes of ABI 6 (signals, abstract sockets). With
/// it, where the rules take effect (see [`Host::set_landlock_places`]).
pub(super) fn ruleset(host: &Host, abi: u32) -> Result<(OwnedFd, Vec<grants::Place>), Error> {
    let all = handled(abi);
    let scoped = if abi >= 6 { 0b11 } else { 0 };
    let landlock = |errno| Error::Host { what: "building the Landlock ruleset", errno };
    let rs = sys::landlock_create_ruleset(all, scoped).map_err(landlock)?;
    let backing = |m: &crate::vfs::Mount| host.dir_of(m).map(Path::to_path_buf);
    let (list, places) = grants::grants_at(host.view(), &backing)
        .map_err(|e| Error::Host { what: "listing the view's host directories", errno: errno_of(&e) })?;
    let read = ll::EXECUTE | ll::READ_FILE | ll::READ_DIR;
    for g in list {
        let mut rights = if g.write { all } else { read };
        if !g.dir {
            rights &= ll::FILE_RIGHTS;
        }
        // IOCTL_DEV on read-only trees would keep terminal ioctls working
        // on devices the guest opens itself; they are opened by the
        // supervisor instead, which Landlock does not check.
        let Ok(fd) = nix::fcntl::open(
            &g.path,
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        ) else {
            // Gone since it was listed: nothing to allow.
            continue;
        };
        sys::landlock_add_path_rule(rs.as_fd(), fd.as_fd(), rights & all).map_err(landlock)?;
    }
    Ok((rs, places))
}

fn errno_of(e: &std::io::Error) -> nix::errno::Errno {
    nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// The host path of a guest path that resolves to something of `kind`.
fn host_path_of(host: &Host, cwd: &GuestPath, path: &[u8], want_dir: bool) -> Option<PathBuf> {
    let no_pids = |_| false;
    let g = GuestCtx { tid: std::process::id() as libc::pid_t, in_sandbox: &no_pids };
    let r = host.resolve(&g, cwd, path, true, false).ok()?;
    match (r.kind(), want_dir) {
        (Some(NodeKind::Dir), true) | (Some(_), false) => {}
        _ => return None,
    }
    host.resolved_host_path(&r)
}

/// Rewrites the spec's working directory and program candidates from guest
/// paths to the host paths the kernel must see.
pub(super) fn translate(host: &Host, spec: &mut Spec) -> Result<(), Error> {
    let caller_cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let given = host.view().cwd().map(|c| c.as_path().to_path_buf());
    let explicit = given.is_some() || spec.cwd.is_some();
    let wanted = match (&given, &spec.cwd) {
        (Some(c), _) => c.clone(),
        (None, Some(c)) => PathBuf::from(OsStr::from_bytes(c.as_bytes())),
        (None, None) => caller_cwd,
    };
    let root = GuestPath::root();
    let mut guest_cwd = GuestPath::new(wanted.as_os_str().as_bytes()).ok();
    let mut host_cwd = guest_cwd.as_ref().and_then(|g| host_path_of(host, &root, g.as_bytes(), true));
    if host_cwd.is_none() && !explicit {
        // The caller's directory is not in the view (a --root tree, or the
        // host's /tmp behind the private one): start at the view's root, as
        // a login would (docs/ARCHITECTURE.md).
        guest_cwd = Some(GuestPath::root());
        host_cwd = host_path_of(host, &root, b"/", true);
    }
    let (Some(guest_cwd), Some(host_cwd)) = (guest_cwd, host_cwd) else {
        return Err(Error::NotInView {
            what: "the working directory",
            path: wanted,
            hint: "it must be a directory in the view; see --chdir",
        });
    };
    spec.cwd = Some(
        CString::new(host_cwd.as_os_str().as_bytes())
            .map_err(|_| Error::Host { what: "the working directory", errno: nix::errno::Errno::EINVAL })?,
    );
    let mut found = Vec::new();
    for c in &spec.candidates {
        if let Some(h) = host_path_of(host, &guest_cwd, c.as_bytes(), false) {
            // The one found first is the one run: where the kernel would
            // load an interpreter the view does not have there (a --root
            // tree's loader), it is run as the tracer runs such a program.
            #[cfg(target_arch = "x86_64")]
            if found.is_empty() {
                if let Some((exe, argv)) = first_exec(host, &guest_cwd, c.as_bytes(), &h, &spec.argv) {
                    spec.argv = argv;
                    found.push(exe);
                    break;
                }
            }
            if same_on_host(c.as_bytes(), &h) {
                // The name as given reaches the same file: keep it, so the
                // guest's argv and trace show what the caller asked for.
                found.push(c.clone());
            } else if let Ok(h) = CString::new(h.as_os_str().as_bytes()) {
                found.push(h);
            }
        }
    }
    if found.is_empty() {
        // Nothing by that name in the view: an exec that fails with ENOENT
        // (exit 127), never the host's file of that name.
        found.push(CString::new("/nonexistent/condo-not-in-view").expect("no NUL"));
    }
    spec.candidates = found;
    Ok(())
}

/// The guest's first program, `path` (found at `host_path`), when its
/// exec must be rewritten ([`exec_chain`]): the host file to run and the
/// argv to give it. `None` to run it as found, or to let the kernel say
/// why it cannot be run.
#[cfg(target_arch = "x86_64")]
fn first_exec(
    host: &Host,
    cwd: &GuestPath,
    path: &[u8],
    host_path: &Path,
    argv: &[CString],
) -> Option<(CString, Vec<CString>)> {
    let no_pids = |_| false;
    let me = std::process::id() as libc::pid_t;
    let g = GuestCtx { tid: me, in_sandbox: &no_pids };
    let r = host.resolve(&g, cwd, path, true, false).ok()?;
    let chain = exec_chain(host, &g, me, path, &Filename::Path, &r, host_path).ok()?;
    let argv0 = || Ok(argv.first().map(|a| a.as_bytes().to_vec()));
    let (exe, pre) = chain.rewritten(argv0).ok()??;
    let new: Vec<Vec<u8>> = pre.into_iter().chain(argv.iter().skip(1).map(|a| a.as_bytes().to_vec())).collect();
    let exe = CString::new(exe).ok()?;
    let new = new.into_iter().map(CString::new).collect::<Result<Vec<_>, _>>().ok()?;
    Some((exe, new))
}

/// Where the tracer may write a translated path in a stopped guest thread:
/// below the stack pointer and its red zone, which the thread does not use
/// while it is inside the call.
#[cfg(target_arch = "x86_64")]
fn scratch_addr(sp: u64, len: usize) -> u64 {
    (sp.wrapping_sub(128).wrapping_sub(len as u64 + 1)) & !15
}

/// Translates the path argument of `chdir`, `execve`, `execveat`, or an
/// `O_PATH` `open`/`openat` (whose fd ADDFD cannot inject) at a seccomp
/// stop: resolves it in the view and points the call at the host path
/// (written into the thread's stack), so the kernel goes where the view
/// says. `Err` fails the call with that errno.
#[cfg(target_arch = "x86_64")]
pub(super) fn translate_call(
    host: &Host,
    in_sandbox: &dyn Fn(libc::pid_t) -> bool,
    tid: libc::pid_t,
    sysno: condo_syscalls::Sysno,
    regs: &mut libc::user_regs_struct,
) -> Result<(), nix::errno::Errno> {
    use crate::memory::{GuestAddr, GuestMemory, ProcessMemory};
    use condo_syscalls::Sysno;
    use nix::errno::Errno;
    let mem = ProcessMemory::new(tid);
    let (path_reg, dirfd) = match sysno {
        Sysno::chdir | Sysno::execve => (regs.rdi, libc::AT_FDCWD),
        Sysno::execveat => (regs.rsi, regs.rdi as u32 as i32),
        Sysno::open => (regs.rdi, libc::AT_FDCWD),
        Sysno::openat => (regs.rsi, regs.rdi as u32 as i32),
        _ => return Ok(()),
    };
    let open_flags = match sysno {
        Sysno::open => Some(regs.rsi as u32 as i32),
        Sysno::openat => Some(regs.rdx as u32 as i32),
        _ => None,
    };
    let path = mem.read_cstr(GuestAddr::new(path_reg).ok_or(Errno::EFAULT)?, crate::vfs::PATH_MAX)?;
    if path.len() >= crate::vfs::PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if sysno == Sysno::execveat && path.is_empty() {
        // fexecve: the fd is the file; nothing to translate.
        return Ok(());
    }
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let base = if path.first() == Some(&b'/') { GuestPath::root() } else { host.guest_dir(tid, dirfd)? };
    let g = GuestCtx { tid, in_sandbox };
    let nofollow = match open_flags {
        Some(f) => f & libc::O_NOFOLLOW != 0,
        None => sysno == Sysno::execveat && regs.r8 as i32 & libc::AT_SYMLINK_NOFOLLOW != 0,
    };
    let exec_key = (sysno != Sysno::chdir && open_flags.is_none())
        .then(|| (sysno == Sysno::execveat, base.as_bytes().to_vec(), path.clone(), nofollow));
    if let Some(known) = exec_key.as_ref().and_then(known_exec) {
        return match known {
            None => Ok(()),
            Some(host_path) => point_at(&mem, regs, sysno, &host_path),
        };
    }
    let moves = crate::procfs::dir_moves();
    let r = host.resolve(&g, &base, &path, !nofollow, false)?;
    if open_flags.is_some() {
        // An O_PATH fd opens nothing: the kernel opens the host path, with
        // the guest's flags. (A writable directory the guest changes in
        // between could point it elsewhere; what it gets is an fd that
        // neither reads nor writes, and whose re-opening is answered in
        // the view again.)
        let host_path = host.resolved_host_path(&r).ok_or(Errno::ENOENT)?;
        return point_at(&mem, regs, sysno, host_path.as_os_str().as_bytes());
    }
    let want_dir = sysno == Sysno::chdir;
    match r.kind() {
        Some(NodeKind::Dir) if want_dir => {}
        Some(NodeKind::Dir) => return Err(Errno::EACCES),
        Some(NodeKind::Symlink(_)) => return Err(Errno::ELOOP),
        Some(_) if want_dir => return Err(Errno::ENOTDIR),
        _ => {}
    }
    let host_path = host.resolved_host_path(&r).ok_or(Errno::ENOENT)?;
    let bytes = host_path.as_os_str().as_bytes();
    if want_dir {
        if bytes != path.as_slice() {
            point_at(&mem, regs, sysno, bytes)?;
        }
        return Ok(());
    }
    // An exec: the kernel will also open an interpreter (`#!`, whose
    // interpreter may be a script in turn, or the ELF one) by its host
    // path; when that is not where the view has it, run the last program
    // of the chain in the view directly, with the guest's paths in argv.
    let argv_reg = if sysno == Sysno::execveat { regs.rdx } else { regs.rsi };
    let filename = if sysno == Sysno::execveat && dirfd != libc::AT_FDCWD && path.first() != Some(&b'/') {
        let mut name = format!("/dev/fd/{dirfd}/").into_bytes();
        name.extend_from_slice(&path);
        Filename::Fd { name, gone_after_exec: crate::procfs::fd_close_on_exec(tid, dirfd).unwrap_or(false) }
    } else {
        Filename::Path
    };
    let chain = exec_chain(host, &g, tid, &path, &filename, &r, &host_path)?;
    if chain.rewrite.is_none() {
        if let (Some(key), true) = (exec_key, host.is_plain_tree(r.mount()) && chain.plain) {
            exec_seen(key, &host_path, &chain.interpreters, !chain.as_is, moves);
        }
        return if chain.as_is { Ok(()) } else { point_at(&mem, regs, sysno, bytes) };
    }
    let argv0 = || Ok(read_argv(&mem, argv_reg, 1)?.into_iter().next());
    let Some((exe, pre)) = chain.rewritten(argv0)? else { return Ok(()) };
    // New argv below the stack: the strings, then the pointer array.
    let rest_ptrs = read_argv_ptrs(&mem, argv_reg)?;
    let mut sp = regs.rsp.wrapping_sub(128);
    let mut put = |data: &[u8]| -> Result<u64, Errno> {
        sp = sp.wrapping_sub(data.len() as u64 + 1) & !7;
        write_cstr(&mem, sp, data)?;
        Ok(sp)
    };
    let exe_at = put(&exe)?;
    let mut ptrs = Vec::new();
    for s in &pre {
        ptrs.push(put(s)?);
    }
    ptrs.extend(rest_ptrs.iter().skip(1));
    ptrs.push(0);
    let bytes: Vec<u8> = ptrs.iter().flat_map(|p| p.to_ne_bytes()).collect();
    sp = sp.wrapping_sub(bytes.len() as u64) & !15;
    mem.write(GuestAddr::new(sp).ok_or(Errno::EFAULT)?, &bytes)?;
    if sysno == Sysno::execveat {
        // Becomes execve(exe, argv, envp).
        regs.orig_rax = libc::SYS_execve as u64;
        regs.rdi = exe_at;
        regs.rsi = sp;
        regs.rdx = regs.r10;
    } else {
        regs.rdi = exe_at;
        regs.rsi = sp;
    }
    Ok(())
}

#[cfg(target_arch = "x86_64")]
/// An exec's arguments as [`translate_call`] read them: `execveat`, the
/// guest directory a relative path starts at, the path, no-follow.
type ExecKey = (bool, Vec<u8>, Vec<u8>, bool);

/// What an exec resolved to: its host file, that file's identity, times
/// and size (it is the same file while they are), the count of
/// [`crate::procfs::dirs_moved`] it was resolved at, and whether the call
/// is pointed at the host path (else the guest's own path reaches it).
struct KnownExec {
    host_path: PathBuf,
    stamp: Stamp,
    /// The `#!` interpreters it ran through, and theirs.
    interpreters: Vec<(PathBuf, Stamp)>,
    moves: u64,
    point_at: bool,
}

thread_local! {
    /// The tracer's last execs: a shell loop or a build runs the same
    /// programs again and again, and resolving one (the program, its ELF
    /// interpreter, both checked against the kernel's own walk) takes
    /// some 35 syscalls.
    static EXECS: std::cell::RefCell<crate::procfs::Recent<ExecKey, KnownExec, 16>> =
        const { std::cell::RefCell::new(crate::procfs::Recent::new()) };
}

/// A host file's identity, times and size.
type Stamp = (u64, u64, i64, i64, i64, i64, u64);

fn stamp(host_path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(host_path).ok()?;
    Some((m.dev(), m.ino(), m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec(), m.size()))
}

/// A known exec that still holds: `Some(None)` to run it as the guest
/// asked, `Some(Some(path))` to point it at that host path. It holds while
/// no directory moved or symlink appeared in the view (every such change
/// of the guest's is notified and counted) and the host file is the same
/// inode, unchanged (a program rebuilt in place, a new one made where a
/// directory was removed natively). Only in plain host trees and tmpfs
/// mounts: not an overlay (a copy-up moves the file to the upper layer),
/// `/proc` or `/dev`. A *host* process putting a symlink on the way
/// meanwhile goes unseen, as for the directories known plain. A script's
/// `#!` interpreters must be unchanged too (one rewritten into a script
/// may name an interpreter only the view has).
fn known_exec(key: &ExecKey) -> Option<Option<Vec<u8>>> {
    let moves = crate::procfs::dir_moves();
    EXECS.with(|c| {
        let c = c.borrow();
        let k = c.get(key).filter(|k| k.moves == moves)?;
        let same = |p: &Path, was: &Stamp| stamp(p).as_ref() == Some(was);
        (same(&k.host_path, &k.stamp) && k.interpreters.iter().all(|(p, was)| same(p, was)))
            .then(|| k.point_at.then(|| k.host_path.as_os_str().as_bytes().to_vec()))
    })
}

fn exec_seen(key: ExecKey, host_path: &Path, interpreters: &[PathBuf], point_at: bool, moves: u64) {
    let Some(stamp) = stamp(host_path) else { return };
    let Some(interpreters) = interpreters.iter().map(|p| Some((p.clone(), self::stamp(p)?))).collect() else {
        return;
    };
    let known = KnownExec { host_path: host_path.to_path_buf(), stamp, interpreters, moves, point_at };
    EXECS.with(|c| c.borrow_mut().keep(key, known));
}

/// How an exec must be changed for the kernel to load what the view
/// shows.
#[cfg(target_arch = "x86_64")]
enum Rewrite {
    /// Run the chain's last program by its host path.
    Program,
    /// Run its ELF interpreter (host path, guest path) on it: the kernel
    /// would load the host's.
    Loader { host: Vec<u8>, guest: Vec<u8> },
}

/// The programs the kernel would load for one exec, followed in the view.
#[cfg(target_arch = "x86_64")]
struct ExecChain {
    /// The last program: its guest path as resolved, and its host path.
    prog: Vec<u8>,
    prog_host: Vec<u8>,
    /// Whether the path as the guest gave it reaches the program on the
    /// host ([`same_on_host`]).
    as_is: bool,
    /// The host paths of the `#!` interpreters followed.
    interpreters: Vec<PathBuf>,
    /// Whether every interpreter followed is in a plain host tree or tmpfs
    /// (see [`known_exec`]).
    plain: bool,
    /// `Some(interpreter)` when a `#!` line was followed: the new argv[0].
    argv0: Option<Vec<u8>>,
    /// What goes between argv[0] and the guest's argv[1..]: each script's
    /// interpreter argument and path, the outermost last.
    prefix: Vec<Vec<u8>>,
    rewrite: Option<Rewrite>,
}

/// A rewritten exec: the host file to run, and the argv before the
/// guest's own `argv[1..]`.
#[cfg(target_arch = "x86_64")]
type Rewritten = (Vec<u8>, Vec<Vec<u8>>);

#[cfg(target_arch = "x86_64")]
impl ExecChain {
    /// The host file the exec must run instead, and the argv it gets
    /// before the guest's own `argv[1..]`; `None` when the exec runs as
    /// the guest made it. `argv0` gives the guest's `argv[0]`, which a
    /// program run through its loader keeps.
    fn rewritten(
        self,
        argv0: impl FnOnce() -> Result<Option<Vec<u8>>, nix::errno::Errno>,
    ) -> Result<Option<Rewritten>, nix::errno::Errno> {
        Ok(Some(match self.rewrite {
            None => return Ok(None),
            // The tree's own loader, which then loads the tree's libc
            // through the view.
            Some(Rewrite::Loader { host, guest }) => {
                let argv0 = match self.argv0 {
                    Some(a) => a,
                    None => argv0()?.unwrap_or_else(|| self.prog.clone()),
                };
                let mut pre = vec![guest, b"--argv0".to_vec(), argv0, self.prog];
                pre.extend(self.prefix);
                (host, pre)
            }
            // Only a `#!` chain gets here: argv[0] is its last interpreter.
            Some(Rewrite::Program) => {
                let mut pre = vec![self.argv0.unwrap_or_default()];
                pre.extend(self.prefix);
                (self.prog_host, pre)
            }
        }))
    }
}

/// The name the kernel gives the program an exec runs, which a script's
/// interpreter gets as its argument.
#[cfg(target_arch = "x86_64")]
enum Filename {
    /// The path the guest gave.
    Path,
    /// `/dev/fd/N/NAME`: a name relative to directory fd N of `execveat`.
    /// When N is close-on-exec the interpreter could not open it, and
    /// the kernel refuses to run a script so (`ENOENT`).
    Fd { name: Vec<u8>, gone_after_exec: bool },
}

/// Follows an exec's `#!` lines, as the kernel does (an interpreter may
/// itself be a script, up to its limit of 5 levels: `ELOOP` beyond; each
/// file must be a regular file the caller may execute, on a mount that
/// allows it: `EACCES`, even where the exec will skip it), and
/// the last program's ELF interpreter, each resolved in the view. A
/// rewrite is needed when some file of the chain is not where the kernel
/// would find it by the same name on the host (a script or interpreter in
/// the private `/tmp`, a `--root` tree's loader).
#[cfg(target_arch = "x86_64")]
fn exec_chain<'v>(
    host: &'v Host,
    g: &GuestCtx<'_>,
    tid: libc::pid_t,
    path: &[u8],
    filename: &Filename,
    r: &crate::vfs::Resolved<'v>,
    host_path: &Path,
) -> Result<ExecChain, nix::errno::Errno> {
    use nix::errno::Errno;
    let as_is = same_on_host(path, host_path);
    let mut chain = ExecChain {
        prog: r.path().as_bytes().to_vec(),
        prog_host: host_path.as_os_str().as_bytes().to_vec(),
        as_is,
        interpreters: Vec::new(),
        plain: true,
        argv0: None,
        prefix: Vec::new(),
        rewrite: None,
    };
    let mut native = as_is;
    let mut given = match filename {
        Filename::Path => path.to_vec(),
        Filename::Fd { name, .. } => name.clone(),
    };
    let mut last: Option<crate::vfs::Resolved<'v>> = None;
    for depth in 0.. {
        let at = last.as_ref().unwrap_or(r).lookup();
        let node = exec_node(host, &at)?;
        // The kernel opens a sixth interpreter, then gives up.
        if depth > 5 {
            return Err(Errno::ELOOP);
        }
        let head = exec_head(node)?;
        match interpreter(&head) {
            Some(Interp::Script { path: ipath, arg }) => {
                if matches!(filename, Filename::Fd { gone_after_exec: true, .. }) {
                    return Err(Errno::ENOENT);
                }
                // The kernel opens the interpreter as any exec's file,
                // relative to the working directory.
                let from =
                    if ipath.first() == Some(&b'/') { GuestPath::root() } else { host.guest_dir(tid, libc::AT_FDCWD)? };
                let node = host.resolve(g, &from, &ipath, true, false)?;
                let ihost = host.host_path(&node.lookup()).ok_or(Errno::ENOENT)?;
                native &= same_on_host(&ipath, &ihost);
                chain.plain &= host.is_plain_tree(node.mount());
                let mut prefix: Vec<Vec<u8>> = arg.into_iter().collect();
                prefix.push(std::mem::replace(&mut given, ipath.clone()));
                prefix.append(&mut chain.prefix);
                chain.prefix = prefix;
                chain.argv0 = Some(ipath);
                chain.prog = node.path().as_bytes().to_vec();
                chain.prog_host = ihost.as_os_str().as_bytes().to_vec();
                chain.interpreters.push(ihost);
                last = Some(node);
            }
            Some(Interp::Elf(ipath)) => {
                let ir = host.resolve(g, &GuestPath::root(), &ipath, true, false)?;
                let ihost = host.host_path(&ir.lookup()).ok_or(Errno::ENOENT)?;
                if !same_on_host(&ipath, &ihost) {
                    chain.rewrite = Some(Rewrite::Loader { host: ihost.as_os_str().as_bytes().to_vec(), guest: ipath });
                    return Ok(chain);
                }
                break;
            }
            None => break,
        }
    }
    if !native && chain.argv0.is_some() {
        chain.rewrite = Some(Rewrite::Program);
    }
    Ok(chain)
}

/// A file of an exec's chain, opened `O_PATH`, once it is found to be
/// what the kernel runs: a regular file (not a fifo or device, which
/// reading would block on or drain), executable by the caller, on a mount
/// that allows it. `EACCES` otherwise, as the kernel says.
#[cfg(target_arch = "x86_64")]
fn exec_node(host: &Host, at: &crate::vfs::Lookup<'_>) -> Result<OwnedFd, nix::errno::Errno> {
    use nix::errno::Errno;
    // (A memfd's /proc/PID/fd/N is reopened through its link.)
    let nofollow = if host.is_proc_fd_entry(at) { 0 } else { libc::O_NOFOLLOW };
    let node = host.open_at(at, libc::O_PATH | nofollow, 0)?;
    if sys::fstat(node.as_fd())?.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(Errno::EACCES);
    }
    let noexec = nix::sys::statvfs::fstatvfs(&node)?.flags().contains(nix::sys::statvfs::FsFlags::ST_NOEXEC);
    let may = nix::unistd::faccessat(
        nix::fcntl::AT_FDCWD,
        crate::procfs::fd_path(node.as_fd()).as_c_str(),
        nix::unistd::AccessFlags::X_OK,
        nix::fcntl::AtFlags::AT_EACCESS,
    );
    if noexec || may.is_err() {
        return Err(Errno::EACCES);
    }
    Ok(node)
}

/// The first bytes of a program `node` ([`exec_node`]), where its `#!`
/// line or ELF headers are. None from a program the caller may run but
/// not read (mode 0711): the kernel runs it as it is. (It makes such a
/// process non-dumpable, and an unprivileged supervisor can then read no
/// path from its memory: its path calls fail with `EACCES`.)
#[cfg(target_arch = "x86_64")]
fn exec_head(node: OwnedFd) -> Result<Vec<u8>, nix::errno::Errno> {
    use nix::fcntl::OFlag;
    let mut head = vec![0u8; 1024];
    // The very file checked, through its fd.
    let fd = match crate::procfs::reopen(node.as_fd(), OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::EACCES) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let n = nix::unistd::read(&fd, &mut head).unwrap_or(0);
    head.truncate(n);
    Ok(head)
}

/// Points the path argument of the call at `host_path`, written below the
/// thread's stack red zone. The `*at` forms (`openat`, `execveat`) get
/// `AT_FDCWD`: the host path is absolute.
#[cfg(target_arch = "x86_64")]
fn point_at(
    mem: &dyn crate::memory::GuestMemory,
    regs: &mut libc::user_regs_struct,
    sysno: condo_syscalls::Sysno,
    host_path: &[u8],
) -> Result<(), nix::errno::Errno> {
    use condo_syscalls::Sysno;
    let at = scratch_addr(regs.rsp, host_path.len());
    write_cstr(mem, at, host_path)?;
    if matches!(sysno, Sysno::openat | Sysno::execveat) {
        regs.rdi = libc::AT_FDCWD as i64 as u64;
        regs.rsi = at;
    } else {
        regs.rdi = at;
    }
    Ok(())
}

fn write_cstr(mem: &dyn crate::memory::GuestMemory, at: u64, data: &[u8]) -> Result<(), nix::errno::Errno> {
    let mut buf = data.to_vec();
    buf.push(0);
    mem.write(crate::memory::GuestAddr::new(at).ok_or(nix::errno::Errno::EFAULT)?, &buf)
}

/// The pointers of a guest argv array (bounded; E2BIG beyond).
#[cfg(target_arch = "x86_64")]
fn read_argv_ptrs(mem: &dyn crate::memory::GuestMemory, argv: u64) -> Result<Vec<u64>, nix::errno::Errno> {
    let mut out = Vec::new();
    let Some(mut a) = crate::memory::GuestAddr::new(argv) else { return Ok(out) };
    loop {
        let mut b = [0u8; 8];
        mem.read(a, &mut b)?;
        let p = u64::from_ne_bytes(b);
        if p == 0 {
            return Ok(out);
        }
        out.push(p);
        if out.len() > 65536 {
            return Err(nix::errno::Errno::E2BIG);
        }
        a = a.offset(8)?;
    }
}

/// The first `n` strings of a guest argv.
#[cfg(target_arch = "x86_64")]
fn read_argv(mem: &dyn crate::memory::GuestMemory, argv: u64, n: usize) -> Result<Vec<Vec<u8>>, nix::errno::Errno> {
    let ptrs = read_argv_ptrs(mem, argv)?;
    let mut out = Vec::new();
    for &p in ptrs.iter().take(n) {
        let a = crate::memory::GuestAddr::new(p).ok_or(nix::errno::Errno::EFAULT)?;
        out.push(mem.read_cstr(a, 131072)?);
    }
    Ok(out)
}

/// What the kernel would load before the program itself.
enum Interp {
    /// `#!path [arg]`.
    Script { path: Vec<u8>, arg: Option<Vec<u8>> },
    /// An ELF `PT_INTERP`.
    Elf(Vec<u8>),
}

fn interpreter(head: &[u8]) -> Option<Interp> {
    if head.starts_with(b"#!") {
        return script_line(head);
    }
    // ELF64 little-endian: the program headers must be within the first
    // bytes read (they are, for every normal executable).
    if head.len() < 64 || &head[..4] != b"\x7fELF" || head[4] != 2 {
        return None;
    }
    let u16_at = |o: usize| head.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u64_at = |o: usize| head.get(o..o + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()) as usize);
    let phoff = u64_at(32)?;
    let phentsize = u16_at(54)?;
    let phnum = u16_at(56)?;
    for i in 0..phnum {
        let ph = phoff.checked_add(i.checked_mul(phentsize)?)?;
        let ptype = head.get(ph..ph + 4).map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()))?;
        if ptype == 3 {
            // PT_INTERP: the path is in the file at p_offset; read it here
            // only when it lies within what was read.
            let off = u64_at(ph + 8)?;
            let size = u64_at(ph + 32)?;
            let bytes = head.get(off..off.checked_add(size)?)?;
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            return Some(Interp::Elf(bytes[..end].to_vec()));
        }
    }
    None
}

/// A `#!` line read as the kernel's `binfmt_script` reads it: from the
/// first 256 bytes (zero-padded past the end of a short file), the
/// interpreter up to a space, tab or NUL, then one argument, the rest of
/// the line less its leading and trailing spaces and tabs (a `\r` is part
/// of it). `None` where the kernel says `ENOEXEC` (no name; a name the
/// 256 bytes cut off), which it then says to the exec as well.
fn script_line(head: &[u8]) -> Option<Interp> {
    let mut buf = [0u8; 256];
    let n = head.len().min(buf.len());
    buf[..n].copy_from_slice(&head[..n]);
    let spacetab = |c: u8| c == b' ' || c == b'\t';
    let terminator = |c: u8| spacetab(c) || c == 0;
    let last = buf.len() - 1;
    let mut end = match buf.iter().position(|&c| c == b'\n') {
        Some(i) => i,
        None => {
            // (The kernel looks at the last byte too, before it cuts it.)
            let name = (2..=last).find(|&i| !spacetab(buf[i]))?;
            (name..=last).find(|&i| terminator(buf[i]))?;
            last
        }
    };
    while end > 2 && spacetab(buf[end - 1]) {
        end -= 1;
    }
    let name = (2..end).find(|&i| !spacetab(buf[i]))?;
    let sep = (name..end).find(|&i| terminator(buf[i]));
    let cstr = |b: &[u8]| b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())].to_vec();
    let path = cstr(&buf[name..sep.unwrap_or(end)]);
    let arg = match sep {
        Some(i) if buf[i] != 0 => (i..end).find(|&j| !spacetab(buf[j])).map(|j| cstr(&buf[j..end])),
        _ => None,
    };
    Some(Interp::Script { path, arg })
}

/// Whether the kernel, resolving the absolute `guest` path on the host,
/// reaches the very file the view resolved to (`host`): then the call may
/// run unchanged.
fn same_on_host(guest: &[u8], host: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if guest.first() != Some(&b'/') {
        return false;
    }
    if guest == host.as_os_str().as_bytes() {
        return true;
    }
    match (std::fs::metadata(OsStr::from_bytes(guest)), std::fs::metadata(host)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{script_line, Interp};

    fn parsed(line: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
        match script_line(line)? {
            Interp::Script { path, arg } => Some((path, arg)),
            Interp::Elf(_) => None,
        }
    }

    /// The cases `binfmt_script` decides at the edges of its 256-byte
    /// buffer, and how it splits a line.
    #[test]
    fn script_lines_are_read_as_the_kernel_reads_them() {
        let name = |n: usize| {
            let mut p = b"/".to_vec();
            p.resize(n, b'x');
            p
        };
        // A name that fills bytes 2-254, then the end of a 255-byte file
        // (zero padding) or a tab at byte 255: the kernel runs it.
        let mut short = b"#!".to_vec();
        short.extend(name(253));
        assert_eq!(parsed(&short), Some((name(253), None)));
        let mut tab = short.clone();
        tab.extend(b"\targ\n");
        assert_eq!(parsed(&tab), Some((name(253), None)));
        // One byte longer and nothing ends it within the buffer: ENOEXEC.
        let mut long = b"#!".to_vec();
        long.extend(name(254));
        long.extend(b"more");
        assert_eq!(parsed(&long), None);
        // One argument, tabs inside kept, a \r part of the name.
        assert_eq!(parsed(b"#! \t/bin/sh \t-a\tb \t\nx"), Some((b"/bin/sh".to_vec(), Some(b"-a\tb".to_vec()))));
        assert_eq!(parsed(b"#!/bin/sh\r\n"), Some((b"/bin/sh\r".to_vec(), None)));
        assert_eq!(parsed(b"#! \t \n"), None);
        assert_eq!(parsed(b"#!/bin/sh\0 -x\n"), Some((b"/bin/sh".to_vec(), None)));
    }
}
