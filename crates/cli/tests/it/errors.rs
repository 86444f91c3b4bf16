//! Error messages print each fact once: an OS error is not repeated by the messages around it.

use crate::pitwall;

fn error_of(args: &[&str]) -> String {
    let out = pitwall().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn os_errors_are_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let missing = missing.to_str().unwrap();
    let dir_path = dir.path().to_str().unwrap();
    let busy = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let cases: [(&[&str], &str); 6] = [
        (&["acsp", "decode", missing], "No such file"),
        (&["acsp", "decode", dir_path], "Is a directory"),
        (&["shm", "dump", "--shm-dir", missing], "No such file"),
        (&["shm", "dump", "--snapshot", missing], "No such file"),
        (&["sim", "server", "--port", &busy_port, "--duration", "1"], "in use"),
        (&["acsp", "listen", "--bind", "127.0.0.1", "--port", &busy_port, "--duration", "1"], "in use"),
    ];
    for (args, os) in cases {
        let err = error_of(args);
        assert_eq!(err.matches(os).count(), 1, "{args:?}: {err}");
        assert_eq!(err.matches("os error").count(), 1, "{args:?}: {err}");
        assert_eq!(err.lines().filter(|l| l.starts_with("pitwall: error:")).count(), 1, "{args:?}: {err}");
    }
    // The directory of the page files is named once, by the file's path.
    let err = error_of(&["shm", "dump", "--shm-dir", missing]);
    assert_eq!(err.matches(missing).count(), 1, "{err}");
}
