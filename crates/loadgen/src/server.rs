//! A server under test as its own process: started from a command line, found by the address
//! it prints, measured through `/proc`, stopped gracefully.
//!
//! A server command must print `listening on HOST:PORT` on stdout or stderr once it accepts
//! connections (`pitwall serve` does; so does `benches/reference_ingest_server.py`). Everything
//! else it prints is logged at `info` under this module's target.

use std::io::{BufRead as _, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::{Error, procstat};

/// How long [`ServerProcess::stop`] waits for the server to exit after SIGTERM before it kills
/// it.
pub const STOP_GRACE: Duration = Duration::from_secs(20);

/// What a server process used while it ran: CPU since it started listening, and peak resident
/// memory. `None` where `/proc` cannot say (not Linux).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// CPU time (user + system) from [`ServerProcess::spawn`]'s return to [`ServerProcess::stop`],
    /// seconds.
    pub cpu_s: Option<f64>,
    /// Peak resident memory over the process's life, bytes.
    pub peak_rss_bytes: Option<u64>,
}

/// A running server process. Dropping it kills the process; [`ServerProcess::stop`] stops it
/// gracefully and says what it used.
#[derive(Debug)]
pub struct ServerProcess {
    name: String,
    /// `None` once stopped.
    child: Option<Child>,
    pid: u32,
    addr: String,
    cpu_at_start: Option<f64>,
}

/// The command of a command line split on whitespace (no quoting), e.g. a baseline server's
/// `python3 server.py --port 0`. `name` names the server in the error.
pub fn command_line(name: &str, line: &str) -> Result<Command, Error> {
    let mut parts = line.split_whitespace();
    let program = parts.next().ok_or_else(|| Error::EmptyCommand { name: name.to_owned() })?;
    let mut command = Command::new(program);
    command.args(parts);
    Ok(command)
}

impl ServerProcess {
    /// Starts `command` with its stdout and stderr piped, and waits up to `listen_timeout` for
    /// it to print `listening on ADDR`. The process is killed if it does not.
    pub fn spawn(name: &str, mut command: Command, listen_timeout: Duration) -> Result<ServerProcess, Error> {
        let mut child =
            command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(
                |source| Error::Spawn { name: name.to_owned(), command: format!("{command:?}"), source },
            )?;
        let (tx, rx) = mpsc::channel::<String>();
        let outputs = [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        ];
        for out in outputs.into_iter().flatten() {
            let tx = tx.clone();
            let server = name.to_owned();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    match line.split("listening on ").nth(1) {
                        Some(addr) => {
                            // The receiver is gone once the address is known: nothing to do then.
                            let _ = tx.send(addr.trim().to_owned());
                        }
                        None => tracing::info!("{server}: {line}"),
                    }
                }
            });
        }
        // Only the readers hold senders now, so the channel disconnects when both outputs close.
        drop(tx);
        let mut server = ServerProcess {
            name: name.to_owned(),
            pid: child.id(),
            child: Some(child),
            addr: String::new(),
            cpu_at_start: None,
        };
        match rx.recv_timeout(listen_timeout) {
            Ok(addr) => server.addr = addr,
            Err(RecvTimeoutError::Timeout) => {
                return Err(Error::NotListening {
                    name: name.to_owned(),
                    secs: listen_timeout.as_secs_f64(),
                });
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Error::Exited { name: name.to_owned(), status: server.reap() });
            }
        }
        server.cpu_at_start = procstat::cpu_seconds(server.pid).ok();
        Ok(server)
    }

    /// Waits for a process whose outputs have closed: a second for it to exit on its own, then a
    /// kill (it may have closed them and gone on running). Says how it ended.
    fn reap(&mut self) -> String {
        let Some(mut child) = self.child.take() else { return "already stopped".to_owned() };
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return status.to_string(),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                Ok(None) => {
                    let _ = child.kill();
                    return match child.wait() {
                        Ok(status) => format!("killed after it closed its outputs: {status}"),
                        Err(e) => format!("killed after it closed its outputs; cannot wait for it: {e}"),
                    };
                }
                Err(e) => return format!("cannot wait for it: {e}"),
            }
        }
    }

    /// The server's name, as given to [`ServerProcess::spawn`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address the server printed (`HOST:PORT`).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Reads what the server used, then stops it: SIGTERM (a graceful stop) and up to
    /// [`STOP_GRACE`] for it to exit, then a kill.
    pub fn stop(mut self) -> Result<Usage, Error> {
        let usage = Usage {
            cpu_s: match (procstat::cpu_seconds(self.pid).ok(), self.cpu_at_start) {
                (Some(end), Some(start)) => Some(end - start),
                _ => None,
            },
            peak_rss_bytes: procstat::peak_rss_bytes(self.pid).ok(),
        };
        let Some(mut child) = self.child.take() else { return Ok(usage) };
        let wait_error = |source| Error::Wait { name: self.name.clone(), pid: self.pid, source };
        // Without a way to send SIGTERM (not Unix, or no `kill` program), the kill below is all.
        #[cfg(unix)]
        let _ = Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status();
        let deadline = Instant::now() + STOP_GRACE;
        while child.try_wait().map_err(wait_error)?.is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                child.wait().map_err(wait_error)?;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(usage)
    }
}

impl Drop for ServerProcess {
    /// A server left running (an error on the way) is killed, not orphaned.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        c
    }

    #[test]
    fn finds_the_address_and_stops_the_server() {
        let server = ServerProcess::spawn(
            "test",
            sh("echo starting >&2; echo 'test server listening on 127.0.0.1:4321'; exec sleep 30"),
            Duration::from_secs(10),
        )
        .expect("the server starts");
        assert_eq!((server.name(), server.addr()), ("test", "127.0.0.1:4321"));
        let started = Instant::now();
        let usage = server.stop().expect("the server stops");
        assert!(started.elapsed() < Duration::from_secs(10), "stopped by SIGTERM, not the grace's end");
        if cfg!(target_os = "linux") {
            assert!(usage.cpu_s.is_some_and(|c| (0.0..5.0).contains(&c)), "{usage:?}");
            assert!(usage.peak_rss_bytes.is_some_and(|b| b > 0), "{usage:?}");
        }
    }

    #[test]
    fn a_server_that_exits_or_stays_silent_is_an_error_naming_it() {
        let e = ServerProcess::spawn("quiet", sh("exit 3"), Duration::from_secs(10)).expect_err("it exits");
        assert!(matches!(&e, Error::Exited { name, .. } if name == "quiet"), "{e:?}");
        assert!(e.to_string().contains("exit status: 3"), "{e}");

        let started = Instant::now();
        let e = ServerProcess::spawn("silent", sh("exec sleep 30"), Duration::from_millis(300))
            .expect_err("it never prints its address");
        assert!(matches!(&e, Error::NotListening { name, .. } if name == "silent"), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "the silent server is killed, not waited for");

        let e = command_line("baseline", "  ").expect_err("empty");
        assert_eq!(e.to_string(), "the command line of the baseline server is empty");
        let c = command_line("baseline", "python3  server.py --port 0").expect("a command");
        assert_eq!(format!("{c:?}"), r#""python3" "server.py" "--port" "0""#);
    }
}
