//! Datagrams carry their own address: `sendto` with an address and every
//! `sendmsg`/`sendmmsg` are answered in the view. The attack: a guest that
//! sends to host unix datagram sockets outside its view (hidden, in the
//! host's /tmp, through a symlink, through /proc/self/root) must reach
//! none. The rest checks that what the supervisor now sends for the guest
//! is what the guest sent: fds passed with `SCM_RIGHTS`, long stream sends
//! on a blocking socket, `SIGPIPE`, datagrams to sockets in the view.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

use common::*;

/// A host datagram socket at `path` that counts what it receives until
/// the returned function is called.
fn listen(path: &Path) -> impl FnOnce() -> Vec<String> {
    let sock = UnixDatagram::bind(path).expect("bind a host datagram socket");
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    let t = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while !s2.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok(n) = sock.recv(&mut buf) {
                got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        got
    });
    move || {
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        t.join().expect("listener thread")
    }
}

#[test]
fn vfs_send_attack_datagrams_never_reach_host_sockets_outside_the_view() {
    let ws = Scratch::new();
    let hidden = Scratch::new();
    let host_tmp = tempfile::Builder::new().prefix("condo-send-").tempdir_in("/tmp").unwrap();
    give_to_guest(host_tmp.path());
    let a = hidden.join("sock");
    let b = host_tmp.path().join("sock");
    let (stop_a, stop_b) = (listen(&a), listen(&b));
    // Control: the same guest reaches a socket inside its view.
    let inside = ws.join("inside.sock");
    let stop_inside = listen(&inside);
    let script = r#"
import socket, sys, os, errno
os.symlink(sys.argv[1], 'sl')
targets = [sys.argv[1], sys.argv[2], 'sl', '/proc/self/root' + sys.argv[1]]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
def t(name, f):
    try:
        f(); print(name, 'sent')
    except OSError as e:
        print(name, errno.errorcode[e.errno])
for i, p in enumerate(targets):
    t('sendto%d' % i, lambda: s.sendto(b'leak', p))
    t('sendmsg%d' % i, lambda: s.sendmsg([b'leak'], [], 0, p))
t('inside-sendto', lambda: s.sendto(b'in1', sys.argv[3]))
t('inside-sendmsg', lambda: s.sendmsg([b'in', b'2'], [], 0, sys.argv[3]))
"#;
    let out =
        run(&mut sandboxed(&ws, ["--hide", s(hidden.path())], ["python3", "-c", script, s(&a), s(&b), s(&inside)]));
    std::thread::sleep(Duration::from_millis(300));
    let (got_a, got_b, got_in) = (stop_a(), stop_b(), stop_inside());
    out.assert_code(0);
    assert!(
        got_a.is_empty() && got_b.is_empty(),
        "host sockets outside the view received {got_a:?} {got_b:?}\n{out:?}"
    );
    for line in out.out().lines().filter(|l| !l.starts_with("inside")) {
        assert!(line.ends_with(" ENOENT"), "expected ENOENT: {line}\n{out:?}");
    }
    assert!(out.out().contains("inside-sendto sent\ninside-sendmsg sent\n"), "{out:?}");
    assert_eq!(got_in, ["in1", "in2"], "the socket inside the view\n{out:?}");
}

/// sendmsg as the guest meant it: an fd passed with SCM_RIGHTS arrives
/// (read through, it is the file), a 3 MiB stream send on a blocking
/// socket whose reader is slow arrives whole and in order, SIGPIPE
/// reaches the sender (once), and a full non-blocking socket is EAGAIN.
#[test]
fn vfs_send_sendmsg_passes_fds_blocks_and_signals_as_the_kernel_does() {
    let ws = Scratch::new();
    ws.write("secret.txt", "passed by fd\n");
    let script = r#"
import socket, os, signal, threading, time, errno, array
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
fd = os.open('secret.txt', os.O_RDONLY)
a.sendmsg([b'x'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [fd]))])
msg, anc, flags, addr = b.recvmsg(1, socket.CMSG_SPACE(4))
got = array.array('i'); got.frombytes(anc[0][2])
print('fd', msg, os.read(got[0], 100).decode().strip())
big = bytes(range(256)) * (3 * 4096)
received = []
def reader():
    time.sleep(0.2)
    n = 0
    while n < len(big):
        d = b.recv(65536)
        received.append(d); n += len(d)
th = threading.Thread(target=reader); th.start()
sent = a.sendmsg([big[:1000000], big[1000000:]])
th.join()
print('big', sent == len(big), b''.join(received) == big)
c, d = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
c.setblocking(False)
try:
    while True: c.sendmsg([b'fill' * 64])
except BlockingIOError:
    print('full EAGAIN')
hits = []
signal.signal(signal.SIGPIPE, lambda *x: hits.append(1))
e, f = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
f.close()
try:
    e.sendmsg([b'gone'])
except BrokenPipeError:
    # The supervisor raises it right after answering, not inside the call.
    for _ in range(100):
        if hits: break
        time.sleep(0.01)
    print('EPIPE', len(hits))
"#;
    let out = run(&mut sandboxed(&ws, NO_OPTS, ["python3", "-c", script]));
    out.assert_code(0);
    assert_eq!(out.out(), "fd b'x' passed by fd\nbig True True\nfull EAGAIN\nEPIPE 1\n", "{out:?}");
}

/// The supervisor binds unix sockets through a name of its own; the guest
/// still sees the name it gave, relative or absolute, and every other
/// socket's name as the kernel has it.
#[test]
fn vfs_send_getsockname_shows_the_name_the_guest_bound() {
    let ws = Scratch::new();
    let script = r#"
import socket, sys
a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); a.bind('rel.sock'); a.listen()
b = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); b.bind(sys.argv[1] + '/abs.sock')
c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(('127.0.0.1', 0))
print(a.getsockname()); print(b.getsockname() == sys.argv[1] + '/abs.sock'); print(repr(c.getsockname()))
print(t.getsockname()[0], t.getsockname()[1] > 0)
"#;
    let out = run(&mut sandboxed(&ws, NO_OPTS, ["python3", "-c", script, s(ws.path())]));
    out.assert_code(0);
    assert_eq!(out.out(), "rel.sock\nTrue\n''\n127.0.0.1 True\n", "{out:?}");
    assert!(ws.join("rel.sock").exists() && ws.join("abs.sock").exists(), "the sockets are in the view's bind");
}

/// Sends that block wait on threads of their own, a bounded number of
/// them; past the bound they fail with EAGAIN. Before, the 65th blocked
/// send ran on the notify worker and every other answer waited for it.
#[test]
fn vfs_send_many_blocked_sends_never_stop_the_sandbox() {
    let ws = Scratch::new();
    let script = r#"
import socket, threading, time, os
results = []
def blocker(s):
    try:
        s.sendmsg([b'b' * 4096]); results.append('sent')
    except BlockingIOError:
        results.append('EAGAIN')
keep = []
for i in range(600):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    a.setblocking(False)
    try:
        while True: a.send(b'a' * 4096)
    except BlockingIOError:
        pass
    a.setblocking(True)
    keep.append((a, b))
    threading.Thread(target=blocker, args=(a,), daemon=True).start()
time.sleep(1)
t = time.time(); os.stat('/etc/passwd'); took = time.time() - t
print('stat answered', took < 1.0, 'EAGAIN' in results)
os._exit(0)
"#;
    let out = run(&mut sandboxed(&ws, ["--timeout", "60s"], ["python3", "-c", script]));
    out.assert_code(0);
    assert_eq!(out.out(), "stat answered True True\n", "{out:?}");
}
