//! `pitwall serve` refuses to start on settings it cannot work with, and says why once: the
//! config key and its allowed range, or the OS error, each printed a single time.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::pitwall;

/// Runs `pitwall serve` with `args`; it must fail at start-up (a server that starts instead is
/// killed after a while, and the test fails). Returns its stderr.
fn serve_fails(args: &[&std::ffi::OsStr]) -> String {
    let mut child = pitwall()
        .arg("serve")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pitwall runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("serve started instead of failing: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "serve must fail: {stderr}");
    assert!(stderr.contains("pitwall: error:"), "{stderr}");
    stderr
}

#[test]
fn a_config_value_out_of_range_stops_serve_and_names_the_key_and_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (toml, key, range) in [
        ("[streams]\nmax_frame_bytes = 0\n", "`max_frame_bytes` in [streams]", "4096..=67108864"),
        ("[streams]\nhttp2_stream_window = 0\n", "`http2_stream_window` in [streams]", "65535..=2147483647"),
        (
            "[[sinks]]\nname = \"pq\"\ntype = \"parquet\"\nrow_group_rows = 0\n",
            "`row_group_rows` in [[sinks]] \"pq\"",
            "1..=1048576",
        ),
    ] {
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, toml).unwrap();
        let stderr =
            serve_fails(&["--config".as_ref(), bad.as_os_str(), "--data".as_ref(), data.as_os_str()]);
        assert!(stderr.contains(key), "{toml:?}: {stderr}");
        assert!(stderr.contains(&format!("allowed: {range}")), "{toml:?}: {stderr}");
        assert!(!data.exists(), "nothing is created before the config is checked");
    }
}

#[test]
fn start_up_os_errors_are_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    // A data directory that is a file.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let stderr =
        serve_fails(&["--data".as_ref(), file.as_os_str(), "--listen".as_ref(), "127.0.0.1:0".as_ref()]);
    assert_eq!(stderr.matches("Not a directory").count(), 1, "{stderr}");
    assert_eq!(stderr.matches(&*file.to_string_lossy()).count(), 1, "{stderr}");

    // A port already in use.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = dir.path().join("data");
    let stderr = serve_fails(&["--data".as_ref(), data.as_os_str(), "--listen".as_ref(), addr.as_ref()]);
    assert_eq!(stderr.matches("in use").count(), 1, "{stderr}");
    assert_eq!(stderr.matches(&addr).count(), 1, "{stderr}");
}
