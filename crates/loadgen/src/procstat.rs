//! CPU time and peak resident memory of a process, read from Linux's `/proc/<pid>`.
//!
//! A load generator measures the server under test as a separate process, so that its figures
//! are apart from the clients'. Elsewhere than on Linux there is no `/proc` to read: every
//! function returns [`Error::ProcUnsupported`].

use crate::Error;

/// Clock ticks per second of `/proc/<pid>/stat`'s times: `USER_HZ`, which Linux fixes at 100
/// for every interface to user space, whatever the kernel's own tick rate.
#[cfg(target_os = "linux")]
const USER_HZ: f64 = 100.0;

/// CPU time (user + system) the process `pid` has used so far, seconds, from `/proc/<pid>/stat`
/// (10 ms resolution).
pub fn cpu_seconds(pid: u32) -> Result<f64, Error> {
    imp::cpu_seconds(pid)
}

/// Peak resident memory of the process `pid` so far, bytes: `VmHWM` of `/proc/<pid>/status`.
pub fn peak_rss_bytes(pid: u32) -> Result<u64, Error> {
    imp::peak_rss_bytes(pid)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::path::PathBuf;

    use super::USER_HZ;
    use crate::Error;

    fn read(path: PathBuf) -> Result<(String, PathBuf), Error> {
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok((text, path)),
            Err(source) => Err(Error::ProcRead { path, source }),
        }
    }

    pub(super) fn cpu_seconds(pid: u32) -> Result<f64, Error> {
        let (stat, path) = read(PathBuf::from(format!("/proc/{pid}/stat")))?;
        let bad = |what| Error::ProcFormat { path: path.clone(), what };
        // The fields after the command name, which is in parentheses and may hold spaces and
        // parentheses itself: the last `)` ends it.
        let rest = stat.rfind(')').and_then(|i| stat.get(i + 1..)).ok_or_else(|| bad("command name"))?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line: 12th and 13th after the name.
        let ticks =
            |i: usize, what| fields.get(i).and_then(|f| f.parse::<u64>().ok()).ok_or_else(|| bad(what));
        let (utime, stime) = (ticks(11, "utime")?, ticks(12, "stime")?);
        Ok((utime + stime) as f64 / USER_HZ)
    }

    pub(super) fn peak_rss_bytes(pid: u32) -> Result<u64, Error> {
        let (status, path) = read(PathBuf::from(format!("/proc/{pid}/status")))?;
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or(Error::ProcFormat { path, what: "VmHWM" })?;
        Ok(kib * 1024)
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use crate::Error;

    pub(super) fn cpu_seconds(_pid: u32) -> Result<f64, Error> {
        Err(Error::ProcUnsupported { what: "CPU time" })
    }

    pub(super) fn peak_rss_bytes(_pid: u32) -> Result<u64, Error> {
        Err(Error::ProcUnsupported { what: "peak resident memory" })
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn this_process_uses_cpu_and_memory() {
        let me = std::process::id();
        let before = cpu_seconds(me).expect("our own /proc/<pid>/stat");
        // Burn CPU until /proc says 0.2 s more were used. On a busy machine that takes longer
        // than 0.2 s of wall time, but never less, and not for ever.
        let start = Instant::now();
        let mut x = 0u64;
        let mut after = before;
        while after - before < 0.2 && start.elapsed() < Duration::from_secs(60) {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
            }
            after = cpu_seconds(me).expect("our own /proc/<pid>/stat");
        }
        let wall = start.elapsed().as_secs_f64();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        assert!(after - before >= 0.2, "{before} s then {after} s after {wall} s of burning");
        // A process cannot use more CPU than its cores give in the time (10 ms of slack for the
        // counters' resolution): a wrong tick rate would break one bound or the other.
        assert!(after - before <= wall * cores + 0.01, "{before} s then {after} s in {wall} s");

        // A 64 MiB buffer, touched, raises the peak to about that at least (the kernel's
        // counters are per CPU and read approximately, hence the slack).
        let buf = std::hint::black_box(vec![1u8; 64 << 20]);
        let peak = peak_rss_bytes(me).expect("our own /proc/<pid>/status");
        assert!((60 << 20..64 << 30).contains(&peak), "{peak} bytes");
        drop(buf);
    }

    #[test]
    fn a_missing_process_is_an_error_naming_the_file() {
        // Above the largest pid Linux hands out (4,194,304).
        let e = cpu_seconds(u32::MAX).expect_err("no such process");
        assert!(e.to_string().contains(&format!("/proc/{}/stat", u32::MAX)), "{e}");
        let e = peak_rss_bytes(u32::MAX).expect_err("no such process");
        assert!(e.to_string().contains("status"), "{e}");
    }
}
