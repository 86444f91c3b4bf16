//! `pitwall bridge --check` and `--config`: a real `pitwall serve` on loopback (with a token),
//! the game simulator's page files, and the sentences and exit statuses a driver gets.

use std::path::Path;
use std::process::{Child, Command, Output};

use crate::pitwall;
use crate::procs::{free_addr, serve_with, sigterm};

const TOKEN: &str = "league-s3cret";

/// `pitwall bridge`, kept away from the user's own settings file: the user folder is an empty
/// one of the test's (and the executable's folder has no bridge.toml).
fn bridge(home: &Path) -> Command {
    let mut cmd = pitwall();
    cmd.arg("bridge").env("XDG_CONFIG_HOME", home).env("HOME", home).env_remove("PITWALL_TOKEN");
    cmd
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The game simulator's pages, written into `dir` (they stay after it stops).
fn game_pages(dir: &Path) {
    let out = pitwall()
        .args(["sim", "game", "--duration", "0.3", "--speed", "5", "--shm-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let addr = free_addr();
        let child = serve_with(addr, &dir.path().join("data"), &["--token", TOKEN]);
        Server { child, url: format!("http://{addr}"), _dir: dir }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        sigterm(&self.child);
        let _ = self.child.wait();
    }
}

#[test]
fn a_reachable_server_with_the_right_token_and_the_game_running_is_ready() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    game_pages(&dir.path().join("pages"));
    // Everything from the settings file; the page folder relative to it.
    let config = dir.path().join("bridge.toml");
    std::fs::write(
        &config,
        format!("server = \"{}\"\ntoken = \"{TOKEN}\"\nshm_dir = \"pages\"\n", server.url),
    )
    .unwrap();
    let out = bridge(dir.path()).arg("--check").arg("--config").arg(&config).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(&format!("Settings: {}", config.display())), "{stdout}");
    assert!(stdout.contains("OK       the game's shared memory is visible"), "{stdout}");
    assert!(stdout.contains("pitwall_ring"), "the track is named: {stdout}");
    assert!(
        stdout.contains(&format!("the server at {} is reachable and accepts your token", server.url)),
        "{stdout}"
    );
    assert!(stdout.contains("Ready"), "{stdout}");
    assert!(!stdout.contains("PROBLEM"), "{stdout}");
}

#[test]
fn a_wrong_or_missing_token_is_said_and_exits_12() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    game_pages(dir.path());
    let base = |cmd: &mut Command| {
        cmd.arg("--check").arg("--shm-dir").arg(dir.path()).args(["--server", &server.url]);
    };
    let mut cmd = bridge(dir.path());
    base(&mut cmd);
    let out = cmd.args(["--token", "league-s3creT"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(12), "{stdout}{stderr}");
    assert!(stdout.contains("is reachable but refused your token"), "{stdout}");
    assert!(stdout.contains("OK       the game's shared memory is visible"), "{stdout}");

    let mut cmd = bridge(dir.path());
    base(&mut cmd);
    let out = cmd.output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(12), "{stdout}{stderr}");
    assert!(stdout.contains("asks for a token, and none is set"), "{stdout}");
}

#[test]
fn no_server_is_said_and_exits_11() {
    let dir = tempfile::tempdir().unwrap();
    game_pages(dir.path());
    let url = format!("http://{}", free_addr());
    let out = bridge(dir.path())
        .arg("--check")
        .arg("--shm-dir")
        .arg(dir.path())
        .args(["--server", &url, "--token", TOKEN])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(11), "{stdout}{stderr}");
    assert!(stdout.contains(&format!("PROBLEM  the server at {url} cannot be reached")), "{stdout}");
    assert!(stdout.contains("Connection refused") || stdout.contains("connection refused"), "{stdout}");
    assert!(stdout.contains("Not ready"), "{stdout}");
}

#[test]
fn no_shared_memory_is_said_and_exits_10_even_with_the_server_fine() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = bridge(dir.path())
        .arg("--check")
        .arg("--shm-dir")
        .arg(dir.path())
        .args(["--server", &server.url, "--token", TOKEN])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(10), "{stdout}{stderr}");
    assert!(stdout.contains("PROBLEM  the game's shared memory is not visible"), "{stdout}");
    assert!(stdout.contains("acpmf_physics"), "the missing page is named: {stdout}");
    assert!(stdout.contains("Start Assetto Corsa"), "{stdout}");
    // The server is still checked, and fine.
    assert!(stdout.contains("accepts your token"), "{stdout}");
}

#[test]
fn the_users_settings_file_is_found_and_flags_override_it() {
    let server = Server::start();
    let home = tempfile::tempdir().unwrap();
    let folder = home.path().join("pitwall");
    std::fs::create_dir_all(&folder).unwrap();
    let config = folder.join("bridge.toml");
    // A port nothing listens on: the flag must win over it.
    std::fs::write(
        &config,
        format!("server = \"http://{}\"\ntoken = \"{TOKEN}\"\nsource = \"sim\"\n", free_addr()),
    )
    .unwrap();
    let help = bridge(home.path()).arg("--help").output().unwrap();
    assert!(
        text(&help).0.contains(&config.display().to_string()),
        "--help lists the user's file: {}",
        text(&help).0
    );

    let out = bridge(home.path()).arg("--check").output().unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(11), "the file's server: {stdout}");
    assert!(stdout.contains(&format!("Settings: {}", config.display())), "{stdout}");
    assert!(stdout.contains("the source is the game simulator"), "{stdout}");

    let out = bridge(home.path()).args(["--check", "--server", &server.url]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "the flag's server: {stdout}{stderr}");
}

#[test]
fn a_bad_settings_file_names_the_file_the_line_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bridge.toml");
    let cases = [
        ("server = \"http://127.0.0.1:50051\"\n# a comment\nsever = \"x\"\n", 3, "sever", "unknown key"),
        ("window = \"big\"\n", 1, "window", "expected usize"),
        ("\nserver = \"192.168.1.10:50051\"\n", 2, "server", "must start with http:// or https://"),
        ("token = \"has spaces\"\n", 1, "token", "printable ASCII without spaces"),
        ("source = \"udp\"\n", 1, "source", "use shm, sim or replay:FILE"),
        ("window = 0\n", 1, "window", "at least 1"),
    ];
    for (file, line, key, why) in cases {
        std::fs::write(&config, file).unwrap();
        let out = bridge(dir.path()).arg("--check").arg("--config").arg(&config).output().unwrap();
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        let want = format!("{}, line {line}, `{key}`: ", config.display());
        assert!(stderr.contains(&want), "{file}: want {want:?} in {stderr}");
        assert!(stderr.contains(why), "{file}: {stderr}");
    }
    let out = bridge(dir.path()).arg("--config").arg(dir.path().join("missing.toml")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("missing.toml: cannot read it"), "{}", text(&out).1);
}

#[test]
fn a_bridge_run_from_its_settings_file_records_into_its_folder_under_the_drivers_name() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bridge.toml");
    std::fs::write(
        &config,
        format!(
            "server = \"{}\"\ntoken = \"{TOKEN}\"\nsource = \"sim\"\nrecording_folder = \"laps\"\n\
             driver_name = \"A. Lovelace\"\n",
            server.url
        ),
    )
    .unwrap();
    let out = bridge(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["--speed", "5", "--duration", "1.5"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("settings from {}", config.display())), "{stderr}");
    assert!(stderr.contains("nothing left to send"), "every frame acked: {stderr}");
    let recording = dir.path().join("laps").join("telemetry_record.pb.gz");
    let frames = record::RecordReader::open(&recording).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
    assert!(frames.len() > 100, "{} frames", frames.len());
    let meta = frames[0].session.as_ref().expect("the first frame has the session's metadata");
    assert_eq!(meta.player_nick, "A. Lovelace");
    assert_eq!(meta.player_name, "Jürgen", "the game's own name is kept");
}
