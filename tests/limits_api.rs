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
