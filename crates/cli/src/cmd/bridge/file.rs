//! `bridge.toml`: the settings a driver writes once (server, token, recording folder, name),
//! so that starting the bridge is a double-click. Flags given on the command line win.
//!
//! Where it is looked for when `--config` is not given, first found wins:
//! 1. `bridge.toml` beside the executable: what a driver edits in the folder they unzipped is
//!    what runs, with nothing to copy anywhere;
//! 2. the user's configuration folder: `%APPDATA%\pitwall\bridge.toml` on Windows,
//!    `$XDG_CONFIG_HOME/pitwall/bridge.toml` (default `~/.config/pitwall/bridge.toml`)
//!    elsewhere.
//!
//! The folders come from the environment variables these platforms define for exactly this
//! (APPDATA is where Windows' roaming application data lives; XDG_CONFIG_HOME and HOME are the
//! XDG base directory rules), rather than from a crate: two rules do not need a dependency.
//!
//! Relative paths in the file are taken from the file's folder, not from wherever the bridge
//! happens to be started (a Windows shortcut's working folder is anyone's guess).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// The file's name, in every place it is looked for.
pub const FILE_NAME: &str = "bridge.toml";

/// The settings of a `bridge.toml`, each with where it was written (for errors).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeFile {
    pub server: Option<Spanned<String>>,
    pub token: Option<Spanned<String>>,
    pub ca: Option<Spanned<PathBuf>>,
    pub record_only: Option<bool>,
    pub recording_folder: Option<Spanned<PathBuf>>,
    pub driver_name: Option<Spanned<String>>,
    pub source: Option<Spanned<String>>,
    pub shm_dir: Option<Spanned<PathBuf>>,
    pub window: Option<Spanned<usize>>,
    pub ack_grace: Option<Spanned<f64>>,
}

/// A `bridge.toml` that cannot be used: the file, and where in it when known.
#[derive(Debug)]
pub struct FileError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for FileError {}

/// A file read, and its text, for turning byte spans into lines.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub text: String,
    pub file: BridgeFile,
}

impl Loaded {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<Loaded, FileError> {
        let text = std::fs::read_to_string(path).map_err(|e| FileError {
            path: path.to_owned(),
            line: None,
            key: None,
            message: format!("cannot read it: {e}"),
        })?;
        Loaded::parse(path, text)
    }

    /// Parses `text`, read from `path`.
    pub fn parse(path: &Path, text: String) -> Result<Loaded, FileError> {
        match toml::from_str::<BridgeFile>(&text) {
            Ok(file) => Ok(Loaded { path: path.to_owned(), text, file }),
            Err(e) => {
                let line = e.span().map(|s| line_of(&text, s.start));
                let key = e.span().and_then(|s| key_at(&text, s.start));
                // serde says "field"; the file's readers know them as keys.
                let message = e.message().trim().replace("unknown field", "unknown key");
                Err(FileError { path: path.to_owned(), line, key, message })
            }
        }
    }

    /// An error about the value of `key`, at `span` of the file.
    pub fn error(&self, key: &str, span: Range<usize>, message: impl Into<String>) -> FileError {
        FileError {
            path: self.path.clone(),
            line: Some(line_of(&self.text, span.start)),
            key: Some(key.to_owned()),
            message: message.into(),
        }
    }

    /// `path` from the file, relative ones taken from the file's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        match self.path.parent() {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_owned(),
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).bytes().filter(|&b| b == b'\n').count() + 1
}

/// The key written on the line of `offset` (`key = value`), for naming it in an error whose
/// message does not (a wrong type says what it expected, not where).
fn key_at(text: &str, offset: usize) -> Option<String> {
    let start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(start..)?.lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('#')).then(|| key.to_owned())
}

/// The user's configuration folder for pitwall, from the environment (`None` when the
/// variables that define it are not set).
pub fn user_config_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let base = if cfg!(windows) {
        std::env::var_os("APPDATA").and_then(absolute)?
    } else {
        match std::env::var_os("XDG_CONFIG_HOME").and_then(absolute) {
            Some(dir) => dir,
            None => std::env::var_os("HOME").and_then(absolute)?.join(".config"),
        }
    };
    Some(base.join("pitwall"))
}

/// Where the bridge looks for its file when `--config` is not given, in order.
pub fn default_locations() -> Vec<PathBuf> {
    let mut places = Vec::new();
    if let Some(dir) = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_owned)) {
        places.push(dir.join(FILE_NAME));
    }
    if let Some(dir) = user_config_dir() {
        places.push(dir.join(FILE_NAME));
    }
    places
}

/// The file to use: `--config`'s (which must exist), else the first default location that
/// exists, else none.
pub fn find(explicit: Option<&Path>) -> Result<Option<Loaded>, FileError> {
    match explicit {
        Some(path) => Loaded::read(path).map(Some),
        None => default_locations().iter().find(|p| p.is_file()).map(|p| Loaded::read(p)).transpose(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Loaded, FileError> {
        Loaded::parse(Path::new("conf/bridge.toml"), text.to_owned())
    }

    #[test]
    fn a_full_file_parses_and_relative_paths_are_the_files_folder() {
        let l = parse(
            "server = \"https://pw.example.org:50051\"\ntoken = \"abc\"\nrecording_folder = \"recordings\"\n\
             driver_name = \"A. Lovelace\"\nwindow = 4096\nack_grace = 2.5\nrecord_only = false\n",
        )
        .unwrap();
        assert_eq!(
            l.file.server.as_ref().map(|s| s.get_ref().as_str()),
            Some("https://pw.example.org:50051")
        );
        assert_eq!(l.file.window.as_ref().map(|w| *w.get_ref()), Some(4096));
        let folder = l.file.recording_folder.as_ref().unwrap().get_ref();
        assert_eq!(l.resolve(folder), Path::new("conf/recordings"));
        assert_eq!(l.resolve(Path::new("/abs")), Path::new("/abs"));
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let e = parse("server = \"http://127.0.0.1:50051\"\n\nsever = \"x\"\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert_eq!(e.key.as_deref(), Some("sever"), "{e}");
        let text = e.to_string();
        assert!(text.starts_with("conf/bridge.toml, line 3, `sever`: "), "{text}");
        assert!(text.contains("unknown key `sever`, expected one of `server`"), "{text}");
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key_and_line() {
        let e = parse("# comment\nwindow = \"big\"\n").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("window")), "{e}");
        let e = parse("ack_grace = -\n").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
    }

    #[test]
    fn the_user_folder_follows_the_platform_rules() {
        // Only the shape: the variables themselves belong to whoever runs the test.
        if let Some(dir) = user_config_dir() {
            assert!(dir.is_absolute() && dir.ends_with("pitwall"), "{}", dir.display());
        }
    }
}
