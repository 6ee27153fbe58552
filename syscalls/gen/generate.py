#!/usr/bin/env python3
"""Derive condo-syscalls' data files from a Linux kernel source tree.

Usage:
    python3 gen/generate.py --linux /path/to/linux --kernel-version 6.18 \
        [--tables-note "where the .tbl files came from"] \
        [--header-note "where syscalls.h came from"]

Reads (paths relative to --linux):
    arch/x86/entry/syscalls/syscall_64.tbl   x86_64 numbers (ABIs "common", "64")
    scripts/syscall.tbl                      generic numbers used by arm64
    arch/arm64/kernel/Makefile.syscalls      which extra generic ABIs arm64 enables
    include/linux/syscalls.h                 sys_*() prototypes -> argument kinds

Writes (relative to this crate):
    data/x86_64.tsv      nr <TAB> name
    data/aarch64.tsv     nr <TAB> name
    data/signatures.tsv  name[@arch] <TAB> kind:arg ...   ("?" = no prototype found)

signatures.tsv is purely mechanical: C types and parameter names are mapped to
argument kinds by the heuristics below. Where they are wrong, or where the
kernel has no usable prototype (arch-specific syscalls such as x86 mmap,
unnamed parameters as in sys_socket(int, int, int)), the hand-maintained
data/signature_overrides.tsv wins; build.rs applies it. Keeping the two apart
means the derived file can always be regenerated without losing hand edits.

Standard library only, so it runs anywhere python3 does.
"""

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")

X86_64_ABIS = {"common", "64"}
GENERIC_64_ABIS = {"common", "64"}

# ---------------------------------------------------------------------------
# Syscall tables
# ---------------------------------------------------------------------------


def parse_tbl(path, abis):
    """Rows of a kernel syscall.tbl whose ABI is in `abis`.

    Returns [(nr, name, entry)] where entry is the kernel entry point (e.g.
    "sys_newuname") or None for numbers that are reserved but unimplemented
    (e.g. x86_64 "tuxcall"). Those still belong in the table: they have a
    number, libc names them, and a sandbox must be able to name what it sees.
    """
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            cols = line.split()
            if len(cols) < 3:
                raise SystemExit(f"{path}: malformed row {line!r}")
            nr, abi, name = int(cols[0]), cols[1], cols[2]
            if abi not in abis:
                continue
            entry = cols[3] if len(cols) > 3 else None
            rows.append((nr, name, entry))
    rows.sort()
    seen_nr, seen_name = {}, {}
    for nr, name, _ in rows:
        if nr in seen_nr:
            raise SystemExit(f"{path}: number {nr} used by {seen_nr[nr]} and {name}")
        if name in seen_name:
            raise SystemExit(f"{path}: name {name} has numbers {seen_name[name]} and {nr}")
        seen_nr[nr], seen_name[name] = name, nr
    return rows


def arm64_abis(linux):
    """The generic-table ABIs arm64 builds its 64-bit table from.

    Since Linux 6.11 arm64 lists them in arch/arm64/kernel/Makefile.syscalls
    (syscall_abis_64 += renameat newstat rlimit memfd_secret).
    """
    abis = set(GENERIC_64_ABIS)
    path = os.path.join(linux, "arch/arm64/kernel/Makefile.syscalls")
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s*syscall_abis_64\s*\+?=\s*(.*)", line)
            if m:
                abis.update(m.group(1).split())
    return abis


# ---------------------------------------------------------------------------
# Prototypes
# ---------------------------------------------------------------------------


def parse_prototypes(path):
    """name (without sys_) -> [(ctype, pname or None)] from syscalls.h.

    Preprocessor conditionals are ignored and the first prototype wins; the
    only syscall declared several ways that matters here is clone, whose
    argument order differs per arch and is fixed in the overrides file.
    """
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
    protos = {}
    for m in re.finditer(r"asmlinkage\s+long\s+sys_(\w+)\s*\(([^;]*?)\)\s*;", text, re.S):
        name, params = m.group(1), " ".join(m.group(2).split())
        if name in protos:
            print(f"note: duplicate prototype for sys_{name}, keeping the first", file=sys.stderr)
            continue
        out = []
        if params not in ("", "void"):
            for p in params.split(","):
                out.append(split_param(p.strip()))
        protos[name] = out
    return protos


C_TYPE_WORDS = {"int", "long", "unsigned", "signed", "short", "char", "void"}
QUALIFIERS = {"const", "__user", "volatile"}


def split_param(p):
    """'const char __user *filename' -> ('const char *', 'filename')."""
    toks = re.findall(r"\w+|\*", p)
    name = None
    words = [t for t in toks if t != "*"]
    if toks and toks[-1] != "*" and len(words) > 1 and toks[-1] not in C_TYPE_WORDS \
            and toks[-1] not in QUALIFIERS and toks[-2] not in ("struct", "union", "enum"):
        name = toks[-1]
        toks = toks[:-1]
    # Only a const before the first '*' makes the pointee (what the kernel
    # reads or writes) const: "char *const *" is not a read-only buffer.
    first_star = toks.index("*") if "*" in toks else len(toks)
    const = "const" in toks[:first_star]
    base = " ".join(t for t in toks if t not in QUALIFIERS and t != "*")
    stars = toks.count("*")
    ctype = ("const " if const else "") + base + (" " + "*" * stars if stars else "")
    return ctype, name


# ---------------------------------------------------------------------------
# Heuristics: C type + parameter name -> ArgKind
# ---------------------------------------------------------------------------

PATH_NAMES = {
    "filename", "pathname", "path", "oldname", "newname", "old", "new", "specialfile",
    "new_root", "put_old", "library", "from_path", "to_path", "special", "dev_name",
    "dir_name",
}
FD_NAMES = {
    "fd", "fildes", "oldfd", "newfd", "out_fd", "in_fd", "fd_in", "fd_out", "fdin",
    "fdout", "epfd", "ufd", "ruleset_fd", "fs_fd", "fanotify_fd", "mountdirfd", "pidfd",
    "kernel_fd", "initrd_fd", "group_fd", "mqdes",
}
DIRFD_NAMES = {"dfd", "olddfd", "newdfd", "from_dfd", "to_dfd"}
SIZE_NAMES = {"len", "count", "size", "bufsiz", "plen", "sz", "argsz", "msgsz", "vlen", "nbytes"}
FLAG_NAMES = {"flags", "flag", "options", "mask"}
ADDR_NAMES = {"addr", "start", "brk", "new_addr"}

INT_TYPES = {"int", "signed int", "__s32", "s32", "short", "key_serial_t", "mqd_t",
             "clockid_t", "timer_t", "key_t", "rwf_t"}
UINT_TYPES = {"unsigned int", "unsigned", "u32", "__u32", "uint32_t", "qid_t",
              "unsigned short", "u16"}
LONG_TYPES = {"long", "__s64", "s64"}
ULONG_TYPES = {"unsigned long", "u64", "__u64", "uint64_t", "aio_context_t", "old_sigset_t"}
# typedefs that are themselves pointers
POINTER_TYPEDEFS = {"cap_user_header_t", "cap_user_data_t", "__sighandler_t"}


def is_integer(ctype):
    return "*" not in ctype and ctype.replace("const ", "") not in POINTER_TYPEDEFS


def is_size_name(pname):
    return pname is not None and (pname in SIZE_NAMES or pname.endswith("_len") or pname.endswith("size"))


def classify(sysname, idx, params):
    ctype, pname = params[idx]
    stars = ctype.count("*")
    const = ctype.startswith("const ")
    base = ctype.replace("const ", "").replace("*", "").strip()
    pn = pname or ""
    nxt = params[idx + 1] if idx + 1 < len(params) else None

    if base in POINTER_TYPEDEFS:
        return "Ptr"
    if stars >= 2:
        if base == "char" and pn in ("argv", "envp"):
            return "StrArray"
        return "Ptr"
    if stars == 1:
        if base == "struct sockaddr":
            if nxt is not None and is_integer(nxt[0]):
                return f"SockAddr({idx + 1})"
            return "Ptr"
        if base in ("char", "void", "unsigned char"):
            if base == "char" and pn in PATH_NAMES:
                return "Path"
            if nxt is not None and is_integer(nxt[0]) and (nxt[0] == "size_t" or is_size_name(nxt[1])):
                return f"{'InBuf' if const else 'OutBuf'}({idx + 1})"
            if base == "char" and const:
                return "Str"
        return "Ptr"

    # integers
    if pn in FD_NAMES:
        return "Fd"
    if pn in DIRFD_NAMES:
        return "DirFd"
    if base == "umode_t":
        return "Mode"
    if base == "pid_t" or pn in ("pid", "tgid"):
        return "Pid"
    if base == "uid_t":
        return "Uid"
    if base == "gid_t":
        return "Gid"
    if pn == "sig":
        return "Signal"
    if pn == "whence":
        return "Whence"
    if base in ("loff_t", "off_t") or pn == "length":
        return "Offset"
    if pn == "prot":
        return "MmapProt"
    if pn in ("unshare_flags", "nstype"):
        return "NamespaceFlags"
    has_dirfd = any(p[1] in DIRFD_NAMES for p in params)
    if has_dirfd and pn in ("flag", "flags", "at_flags"):
        return "AtFlags"
    if pn in FLAG_NAMES or pn.endswith("flags") or pn.endswith("flg"):
        return "Flags"
    if pn in ADDR_NAMES and base == "unsigned long":
        return "Addr"
    if base == "size_t" or is_size_name(pname):
        return "Size"
    if base in INT_TYPES or base.startswith("enum "):
        return "Int"
    if base in UINT_TYPES:
        return "UInt"
    if base in LONG_TYPES:
        return "Long"
    if base in ULONG_TYPES:
        return "ULong"
    raise SystemExit(f"sys_{sysname}: no kind for parameter {idx} type {ctype!r} name {pname!r}; "
                     "extend the heuristics in gen/generate.py")


def signature(sysname, params):
    out = []
    for i, (_, pname) in enumerate(params):
        out.append(f"{classify(sysname, i, params)}:{pname or f'arg{i}'}")
    return out


def entry_signature(entry, protos):
    """Signature of an entry point: list, [] for no arguments, None if unknown."""
    if entry is None or entry == "sys_ni_syscall":
        return []  # reserved/unimplemented: the kernel ignores the registers
    if not entry.startswith("sys_"):
        return None
    name = entry[len("sys_"):]
    if name not in protos:
        return None
    return signature(name, protos[name])


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def header(what, sources, args, notes):
    lines = [f"# {what}"]
    lines += [f"# Source: {s}" for s in sources]
    lines.append(f"# Kernel version: Linux {args.kernel_version}")
    for note in notes:
        if note:
            for part in note.split("\\n"):
                lines.append(f"# Note: {part}")
    lines.append("# Generated by gen/generate.py, do not edit by hand"
                 " (hand corrections go in signature_overrides.tsv).")
    return "\n".join(lines) + "\n"


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(path)}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--linux", required=True, help="kernel source tree")
    ap.add_argument("--kernel-version", required=True, help="recorded in the provenance headers")
    ap.add_argument("--tables-note", default="", help="where the .tbl files came from, for the headers (\\n separates lines)")
    ap.add_argument("--header-note", default="", help="where syscalls.h came from, for signatures.tsv (\\n separates lines)")
    args = ap.parse_args()

    x86_tbl = "arch/x86/entry/syscalls/syscall_64.tbl"
    gen_tbl = "scripts/syscall.tbl"
    arm_mk = "arch/arm64/kernel/Makefile.syscalls"
    hdr = "include/linux/syscalls.h"

    x86 = parse_tbl(os.path.join(args.linux, x86_tbl), X86_64_ABIS)
    abis = arm64_abis(args.linux)
    arm = parse_tbl(os.path.join(args.linux, gen_tbl), abis)
    protos = parse_prototypes(os.path.join(args.linux, hdr))

    for arch, rows, src, extra in (
        ("x86_64", x86, [x86_tbl + ' (ABIs "common" and "64"; "x32" rows skipped)'], []),
        ("aarch64", arm, [gen_tbl + f" (ABIs {', '.join(sorted(abis))})",
                          arm_mk + " (arm64's extra ABIs)"], []),
    ):
        text = header(f"Linux {arch} system call numbers: nr <TAB> name, sorted by number.", src + extra, args,
                      [args.tables_note])
        text += "".join(f"{nr}\t{name}\n" for nr, name, _ in rows)
        write(os.path.join(DATA, f"{arch}.tsv"), text)

    # One signature per name, from the x86_64 entry point when the name exists
    # there; an "@aarch64" row only where arm64's entry point gives a different
    # signature (e.g. fadvise64 is sys_fadvise64_64 on arm64).
    x86_entry = {name: entry for _, name, entry in x86}
    arm_entry = {name: entry for _, name, entry in arm}
    names = sorted(set(x86_entry) | set(arm_entry))
    lines = []
    unknown = []
    for name in names:
        primary = x86_entry[name] if name in x86_entry else arm_entry[name]
        sig = entry_signature(primary, protos)
        if sig is None:
            unknown.append(name)
            lines.append(f"{name}\t?")
        else:
            lines.append("\t".join([name] + sig))
        if name in x86_entry and name in arm_entry:
            asig = entry_signature(arm_entry[name], protos)
            if asig != sig:
                lines.append("\t".join([f"{name}@aarch64"] + (["?"] if asig is None else asig)))
    text = header(
        "Syscall argument signatures: name[@arch] <TAB> Kind:argname ... "
        "(\"?\" = no prototype in syscalls.h; no columns = no arguments).",
        [hdr + " (sys_* prototypes, mapped to kinds by the heuristics in gen/generate.py)",
         "entry points from " + x86_tbl + " and " + gen_tbl],
        args, [args.header_note, args.tables_note])
    text += "".join(l + "\n" for l in lines)
    write(os.path.join(DATA, "signatures.tsv"), text)
    print(f"x86_64: {len(x86)} syscalls, aarch64: {len(arm)}, union: {len(names)}", file=sys.stderr)
    if unknown:
        print("no prototype (need a row in signature_overrides.tsv): " + " ".join(unknown), file=sys.stderr)


if __name__ == "__main__":
    main()
