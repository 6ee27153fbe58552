//! Limits through the library API. A separate test binary: it drops the
//! whole test process to an unprivileged user.

mod common;

use common::drop_privileges_once;

#[test]
fn library_reports_the_limit_that_ended_the_run() {
    drop_privileges_once();
    let limits = condo::Limits { timeout: Some(std::time::Duration::from_millis(300)), ..Default::default() };
    let mut child = condo::Sandbox::new()
        .limits(limits)
        .command("sleep")
        .arg("30")
        .stdout(condo::Stdio::Null)
        .spawn()
        .expect("spawns");
    let r = child.wait_report().expect("report");
    assert_eq!(r.limit, Some(condo::LimitKind::Timeout));
    assert!(r.wall >= std::time::Duration::from_millis(290));
    assert_eq!(r.tasks, 1);
}

#[test]
fn a_10_gib_stdout_flood_stops_at_the_capture_limit() {
    drop_privileges_once();
    let out = condo::Sandbox::new()
        .command("head")
        .args(["-c", "10G", "/dev/zero"])
        .output_limit(1 << 20)
        .output()
        .expect("runs");
    assert_eq!(out.limit, Some(condo::LimitKind::Output));
    assert_eq!(out.stdout.len(), 1 << 20);
    assert!(out.stdout.iter().all(|&b| b == 0));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGKILL), "{:?}", out.status);
}

#[test]
fn output_within_the_limit_is_complete() {
    drop_privileges_once();
    let out = condo::Sandbox::new()
        .command("sh")
        .args(["-c", "seq 1 1000; echo err >&2"])
        .output_limit(1 << 20)
        .output()
        .expect("runs");
    assert_eq!(out.limit, None);
    assert_eq!(out.stdout.len(), (1..=1000).map(|n: u32| n.to_string().len() + 1).sum::<usize>());
    assert_eq!(out.stderr, b"err\n");
    assert!(out.status.success());
}
