//! `pitwall sim server` and `sim game`: what the command line accepts, and a run that cannot
//! reach its plugin.

use std::process::Output;
use std::time::{Duration, Instant};

use crate::pitwall;

fn run(args: &[&str]) -> Output {
    pitwall().args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A negative speed is a value clap hands to our check (not an unknown argument `-1`), and the
/// check says what a speed must be; exit status 2, as for every usage error.
#[test]
fn negative_and_zero_speeds_are_usage_errors_that_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let shm_dir = dir.path().to_str().unwrap();
    for args in [
        &["sim", "server", "--speed", "-1"][..],
        &["sim", "server", "--speed", "0"],
        &["sim", "server", "--speed=-0.5"],
        &["sim", "game", "--shm-dir", shm_dir, "--speed", "-1"],
        &["sim", "game", "--shm-dir", shm_dir, "--speed", "0"],
    ] {
        let out = run(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("speed must be > 0"), "{args:?}: {err}");
        assert!(!err.contains("unexpected argument"), "{args:?}: {err}");
    }
    let out = run(&["sim", "server", "--speed", "20000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("at most 10000"), "{}", stderr(&out));
}

/// The help and the check give the same limit for --cars (and --entry-list): 1 to 64.
#[test]
fn the_car_limit_in_the_help_is_the_one_enforced() {
    let help = String::from_utf8(run(&["sim", "server", "--help"]).stdout).unwrap();
    assert!(help.contains("Drivers that join, 1 to 64"), "{help}");
    assert!(help.contains("Entry-list slots, 1 to 64"), "{help}");
    for flag in ["--cars", "--entry-list"] {
        let out = run(&["sim", "server", flag, "65"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("65 is not in 1..=64"), "{err}");
    }
    let out = run(&["sim", "server", "--cars", "8", "--entry-list", "4"]);
    assert_eq!(out.status.code(), Some(2), "inconsistent flags are a usage error too: {}", stderr(&out));
    assert!(stderr(&out).contains("entry_list"), "{}", stderr(&out));
}

/// A plugin address no datagram can go to is refused at start-up, as a usage error.
#[test]
fn a_plugin_address_without_a_port_or_host_is_a_usage_error() {
    for (plugin, why) in
        [("127.0.0.1:0", "port 0"), ("0.0.0.0:12000", "unspecified"), ("[::]:12000", "unspecified")]
    {
        let out = run(&["sim", "server", "--port", "0", "--duration", "1", "--plugin", plugin]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{plugin}: {err}");
        assert!(err.contains(why), "{plugin}: {err}");
    }
    let out = run(&["sim", "server", "--port", "0", "--duration", "1", "--plugin", "[::1]:12000"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "an IPv4 socket cannot send to IPv6: {err}");
    assert!(err.contains("--listen"), "{err}");
}

/// Sends that keep failing (here: the broadcast address, which the socket may not send to) end
/// the run with a non-zero status and the reason, said once; not a silent run that exits 0.
#[cfg(target_os = "linux")]
#[test]
fn a_run_in_which_every_send_fails_ends_in_an_error() {
    let started = Instant::now();
    let out = run(&[
        "sim",
        "server",
        "--port",
        "0",
        "--plugin",
        "255.255.255.255:12000",
        "--join-every",
        "0",
        "--realtime-interval",
        "50",
        "--duration",
        "20",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(started.elapsed() < Duration::from_secs(15), "it stopped by itself, not at --duration");
    assert!(err.contains("could not be sent to the plugin address 255.255.255.255:12000"), "{err}");
    assert_eq!(err.matches("os error").count(), 1, "{err}");
}
