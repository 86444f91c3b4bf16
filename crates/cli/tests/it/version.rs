//! `pitwall --version`: the version, the commit and the build date, so that a bug report names
//! its build.

use crate::{pitwall, run_ok};

#[test]
fn version_names_the_commit_and_the_build_date() {
    let out = run_ok(pitwall().arg("--version"));
    let line = String::from_utf8(out.stdout).unwrap();
    let line = line.trim();
    let rest =
        line.strip_prefix(concat!("pitwall ", env!("CARGO_PKG_VERSION"), " (commit ")).unwrap_or_else(|| {
            panic!("{line}");
        });
    let (commit, rest) = rest.split_once(", built ").unwrap();
    let (date, target) = rest.split_once(", ").unwrap();
    assert!(target.ends_with(')') && target.len() > 5, "{line}");
    // YYYY-MM-DD.
    let parts: Vec<&str> = date.split('-').collect();
    assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [4, 2, 2], "{line}");
    assert!(parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())), "{line}");
    assert!(parts[0] >= "2024", "{line}");
    // The commit the binary was built from: this checkout's HEAD when git can say it (the
    // binary was built from this tree), else `unknown`.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match (std::env::var("PITWALL_COMMIT").ok().filter(|c| !c.is_empty()), head) {
        (Some(given), _) => assert_eq!(commit, given, "{line}"),
        (None, Some(head)) => assert_eq!(commit, head, "{line}"),
        (None, None) => assert_eq!(commit, "unknown", "{line}"),
    }
    // Every subcommand says the same.
    let sub = run_ok(pitwall().args(["bridge", "--version"]));
    assert!(String::from_utf8(sub.stdout).unwrap().contains(&format!("(commit {commit}, built {date}")));
}
