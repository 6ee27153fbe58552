//! A caller that dropped privileges (and so is not dumpable, which its
//! children inherit) can still sandbox: ptrace would refuse to attach to a
//! non-dumpable child, so the launcher makes the child dumpable first.
//! Its own test binary: it changes the credentials of the whole process.

#[test]
fn a_non_dumpable_caller_can_start_a_sandbox() {
    // SAFETY: plain prctl calls on this process.
    unsafe {
        if libc::geteuid() == 0 {
            // Dropping root clears the dumpable flag by itself.
            assert_eq!(libc::setgroups(0, std::ptr::null()), 0);
            assert_eq!(libc::setresgid(65534, 65534, 65534), 0);
            assert_eq!(libc::setresuid(65534, 65534, 65534), 0);
        } else {
            assert_eq!(libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0), 0);
        }
        assert_eq!(libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0), 0, "the test needs a non-dumpable process");
    }
    let out = condo::Sandbox::new().hostname("nd").command("uname").arg("-n").output().expect("starts");
    assert_eq!(out.stdout, b"nd\n");
    assert!(out.status.success());
}
