//! A full disk: a size-limited tmpfs that a test fills with a file of its own, then frees by
//! deleting it, for real `ENOSPC` from the kernel. Mounting needs root on Linux; elsewhere
//! [`Tmpfs::mount`] says no, and the test checks what it can without the full disk (and says
//! so).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A tmpfs mounted on a directory, unmounted on drop (also when the test fails).
#[derive(Debug)]
pub struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount`'s form: `32m`, `8m`) on `dir`, creating `dir`, if this
    /// process may (root on Linux); `None` otherwise.
    pub fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        if !cfg!(target_os = "linux") {
            return None;
        }
        std::fs::create_dir_all(dir).ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| Tmpfs { dir: dir.to_owned() })
    }

    /// Where it is mounted.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.dir).status().is_ok_and(|s| s.success());
        if !unmounted {
            // Still busy (a failed test left files open): detach it now, freed when closed.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Writes the file `path` until its file system is full, down to the last byte it takes.
/// Returns the bytes written.
///
/// # Panics
///
/// If the file cannot be created, or a write fails with anything but `ENOSPC`.
pub fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).expect("creating the filler file");
    let mut written = 0u64;
    for size in [1 << 20, 64 << 10, 4096, 512, 1] {
        let chunk = vec![0xa5u8; size];
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(28), "expected ENOSPC, got {e}");
                    break;
                }
            }
        }
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filled_tmpfs_is_full_until_the_filler_goes() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mnt = dir.path().join("mnt");
        let Some(tmpfs) = Tmpfs::mount(&mnt, "1m") else {
            println!("SKIPPED: cannot mount a tmpfs here (not root on Linux)");
            return;
        };
        let filler = tmpfs.dir().join("filler");
        let written = fill(&filler);
        assert!(written > 900 << 10 && written <= 1 << 20, "{written}");
        let err = std::fs::write(tmpfs.dir().join("more"), [0u8; 4096]).expect_err("the disk is full");
        assert_eq!(err.raw_os_error(), Some(28), "{err}");
        std::fs::remove_file(&filler).expect("removing the filler");
        std::fs::write(tmpfs.dir().join("more"), [0u8; 4096]).expect("space again");
    }
}
