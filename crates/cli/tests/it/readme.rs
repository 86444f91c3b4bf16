//! README's main command, as a newcomer types it: `cargo run --release -- demo` from the
//! checkout. `cargo run` picks the binary only when the workspace has exactly one; a second one
//! (as a test server once was) makes it fail with "could not determine which binary to run".
//! The demo itself runs in `demo.rs`; running the literal command here would build the whole
//! workspace a second time, in release.

use std::path::Path;
use std::process::Command;

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().and_then(Path::parent).unwrap()
}

#[test]
fn readme_main_command_is_cargo_run_of_the_demo() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let section = readme.split("## The two commands").nth(1).expect("README has \"## The two commands\"");
    let first_block = section.split("```sh\n").nth(1).and_then(|b| b.split("```").next()).unwrap();
    assert_eq!(
        first_block.trim(),
        "cargo run --release -- demo",
        "README's first command changed: update this test"
    );
}

#[test]
fn cargo_run_finds_one_binary_in_the_workspace() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--no-deps", "--offline", "--format-version", "1"])
        .current_dir(workspace_root())
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let members = meta["workspace_default_members"].as_array().unwrap();
    let bins: Vec<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| members.contains(&p["id"]))
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"))
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(bins, ["pitwall"], "`cargo run` in the workspace must find exactly one binary");
}
