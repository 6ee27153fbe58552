//! Run an untrusted command the way a grader or CI step would: capture its
//! output, give it its own hostname, and report how it ended.
//!
//! `cargo run --example run_untrusted -- sh -c 'hostname; echo hi >&2; exit 3'`

use std::os::unix::process::ExitStatusExt;

fn main() -> Result<(), condo::Error> {
    let mut args = std::env::args_os().skip(1);
    let program = args.next().unwrap_or_else(|| "uname".into());
    let rest: Vec<_> = if std::env::args_os().len() > 1 { args.collect() } else { vec!["-a".into()] };

    let sandbox = condo::Sandbox::new().hostname("grader");
    let out = sandbox.command(&program).args(&rest).output()?;

    println!("stdout: {}", String::from_utf8_lossy(&out.stdout).trim_end());
    println!("stderr: {}", String::from_utf8_lossy(&out.stderr).trim_end());
    match (out.status.code(), out.status.signal()) {
        (Some(code), _) => println!("exited with {code}"),
        (None, Some(sig)) => println!("killed by signal {sig}"),
        _ => println!("ended: {:?}", out.status),
    }
    Ok(())
}
