//! No secret in logs: the bearer token of `pitwall serve` and `pitwall bridge`, right or wrong,
//! never appears in what either prints, even with every log level on.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::pitwall;

const TOKEN: &str = "s3cret-token-4f1d9a";
const WRONG: &str = "wrong-token-77c2e0";

#[test]
fn tokens_never_reach_the_logs_even_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut serve = pitwall()
        .args(["--log", "trace", "serve", "--listen", &addr.to_string(), "--data"])
        .arg(dir.path().join("data"))
        .env("PITWALL_TOKEN", TOKEN)
        // Files, not pipes: at trace level the server writes far more than a pipe holds.
        .stdout(Stdio::from(std::fs::File::create(dir.path().join("serve.out")).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(dir.path().join("serve.err")).unwrap()))
        .spawn()
        .unwrap();
    // Wait until it listens.
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "pitwall serve did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut outputs = Vec::new();
    for (token, name) in [(TOKEN, "right"), (WRONG, "wrong")] {
        let out = pitwall()
            .args(["--log", "trace", "bridge", "--source", "sim", "--speed", "5", "--duration", "1.5"])
            .args(["--ack-grace", "2", "--server", &format!("http://{addr}"), "--record"])
            .arg(dir.path().join(format!("{name}.pb.gz")))
            .env("PITWALL_TOKEN", token)
            .output()
            .unwrap();
        outputs.push((format!("bridge with the {name} token"), out.stdout, out.stderr));
    }
    let ok = std::process::Command::new("kill").args(["-TERM", &serve.id().to_string()]).status().unwrap();
    assert!(ok.success());
    assert!(serve.wait().unwrap().success());
    let so = std::fs::read(dir.path().join("serve.out")).unwrap();
    let se = std::fs::read(dir.path().join("serve.err")).unwrap();
    let wrong_refused = String::from_utf8_lossy(&outputs[1].2).to_lowercase();
    assert!(wrong_refused.contains("unauthenticated") || wrong_refused.contains("token"), "{wrong_refused}");
    outputs.push(("serve".into(), so, se));
    for (who, stdout, stderr) in outputs {
        assert!(stderr.len() > 1000, "{who} logged at trace level: {}", String::from_utf8_lossy(&stderr));
        for text in [String::from_utf8_lossy(&stdout), String::from_utf8_lossy(&stderr)] {
            for secret in [TOKEN, WRONG] {
                if let Some(at) = text.find(secret) {
                    panic!("{who} printed a token: …{}", &text[at.saturating_sub(300)..at + secret.len()]);
                }
            }
        }
    }
}
