//! Build metadata for `pitwall --version`: the git commit and the build date, as the
//! environment variables `PITWALL_COMMIT` and `PITWALL_BUILD_DATE` of the crate.
//!
//! - The commit comes from `git rev-parse HEAD`, or from `PITWALL_COMMIT` when set (a build from
//!   a source archive that knows its commit), else `unknown` (no git, or not a checkout).
//! - The date is `SOURCE_DATE_EPOCH` when set (reproducible builds set it), else today's, UTC.
//! - The script reruns only when HEAD or the branch it points to moves (or those variables
//!   change), never on every build: cargo's default without `rerun-if-changed` would rerun it on
//!   any change in the package, and a rerun relinks the binary.

use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The proleptic Gregorian date of a count of days since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`): a build script should not need a date crate for one date.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn main() {
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-env-changed=PITWALL_COMMIT");
    // Always name at least one file, so that cargo does not fall back to rerunning the script
    // whenever any file of the package changes.
    println!("cargo:rerun-if-changed=build.rs");

    // HEAD (which branch, or a detached commit) and the branch's ref file; `--git-path` gives
    // the right files in a linked worktree too. A ref can also live in packed-refs.
    let mut watched = Vec::new();
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        watched.push(head);
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watched.extend(git(&["rev-parse", "--git-path", &branch]));
        }
        watched.extend(git(&["rev-parse", "--git-path", "packed-refs"]));
    }
    for path in watched {
        // A path that does not exist would make cargo rerun the script on every build.
        let path = PathBuf::from(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }

    let commit = std::env::var("PITWALL_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());

    let epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) => match value.trim().parse::<i64>() {
            Ok(seconds) => seconds,
            Err(_) => panic!("SOURCE_DATE_EPOCH={value:?} is not a number of seconds since 1970"),
        },
        Err(_) => SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64),
    };
    let (year, month, day) = civil_from_days(epoch.div_euclid(86_400));

    println!("cargo:rustc-env=PITWALL_COMMIT={commit}");
    println!("cargo:rustc-env=PITWALL_BUILD_DATE={year:04}-{month:02}-{day:02}");
    println!("cargo:rustc-env=PITWALL_TARGET={}", std::env::var("TARGET").unwrap_or_default());
}
