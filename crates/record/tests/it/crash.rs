//! A writer process killed with SIGKILL while it writes: the recording reads back to its last
//! complete member, the torn member after it is reported at its offset, and a restarted writer
//! continues the file.
//!
//! The writer is this test binary itself, started again to run only `crash_helper` (an ignored
//! test that does nothing unless the environment tells it to write), so no extra binary is
//! built.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use record::{ReadOptions, RecordError, RecordOptions, RecordWriter, scan};

use crate::{assert_frames, read_all, read_with, realistic};

const HELPER_ENV: &str = "PITWALL_RECORD_CRASH_HELPER";

/// The process to kill: appends frames as fast as it can, with members every 50 ms by a real
/// clock (injected, as the bridge would), and prints `member <end offset> <frames>` each time a
/// member is complete in the file.
#[test]
#[ignore = "the writer process of sigkill_mid_write, which starts it"]
fn crash_helper() {
    let Some(path) = std::env::var_os(HELPER_ENV) else {
        return;
    };
    let start = Instant::now();
    let options = RecordOptions {
        member_max_age: Duration::from_millis(50),
        member_max_bytes: 64 << 20,
        ..RecordOptions::default()
    };
    let mut writer =
        RecordWriter::create(&path, options).unwrap().with_clock(move || start.elapsed().as_nanos() as u64);
    let mut members = 0;
    let mut seq = 0;
    // The parent kills it long before; the limit only keeps a lost helper from running forever.
    while start.elapsed() < Duration::from_secs(60) {
        writer.append(&realistic::frame(0, seq)).unwrap();
        seq += 1;
        if writer.index().len() != members {
            members = writer.index().len();
            println!("member {} {}", writer.end_offset(), writer.index().frames());
        }
    }
}

/// Kills the child if the test fails before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn parse_member(line: &str) -> Option<(u64, u64)> {
    let mut words = line.strip_prefix("member ")?.split(' ');
    Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
}

#[cfg(unix)]
#[test]
fn sigkill_mid_write_leaves_a_recording_good_to_its_last_member() {
    let dir = tempfile::tempdir().unwrap();
    let mut torn = 0;
    for attempt in 0..6u64 {
        let path = dir.path().join(format!("killed-{attempt}.pb.gz"));
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["crash::crash_helper", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(HELPER_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut child = KillOnDrop(child);
        let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();

        // A few members in, then a kill at a different moment of the next one each time.
        let mut reported = (0, 0);
        let mut seen = 0;
        while seen < 3 {
            let line = lines.next().expect("the helper reports members").unwrap();
            if let Some(member) = parse_member(&line) {
                reported = member;
                seen += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(attempt * 9 % 45));
        // Child::kill sends SIGKILL on Unix: no destructor, no flush.
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        // Members completed before the kill that the loop above had not read yet.
        for line in lines {
            if let Some(member) = parse_member(&line.unwrap()) {
                reported = member;
            }
        }
        let (reported_end, reported_frames) = reported;

        // Everything the writer saw complete is there, frame for frame, and nothing else
        // but a torn member.
        let file_len = std::fs::metadata(&path).unwrap().len();
        let scanned = scan(&path).unwrap();
        let (frames, error) = read_all(&path);
        assert!(frames.len() as u64 >= reported_frames);
        assert!(scanned.index.end() >= reported_end);
        assert_eq!(frames.len() as u64, scanned.index.frames());
        assert_frames(&frames, 0, 0);
        match error {
            None => assert_eq!(file_len, scanned.index.end(), "killed between members"),
            Some(RecordError::Truncated { offset, detected_at, frames_before, .. }) => {
                torn += 1;
                assert_eq!(offset, scanned.index.end(), "reported at the torn member's start");
                assert_eq!(detected_at, file_len);
                assert_eq!(frames_before, frames.len() as u64);
            }
            Some(other) => panic!("attempt {attempt}: {other}"),
        }

        // Salvaging gets the torn member's frames that made it to the file before the kill.
        let (salvaged, _) = read_with(&path, ReadOptions { salvage: true, ..ReadOptions::default() });
        assert_frames(&salvaged, 0, 0);
        assert!(salvaged.len() >= frames.len());

        // The restarted writer cuts the torn member and continues the sequence.
        let (mut writer, repair) = RecordWriter::open_append(&path, RecordOptions::default()).unwrap();
        assert_eq!(
            repair.as_ref().map(|r| r.cut_bytes),
            (file_len > scanned.index.end()).then(|| file_len - scanned.index.end())
        );
        // The torn member's complete frames were written again: the sequence goes on after them.
        let next = writer.index().frames();
        assert_eq!(next, salvaged.len() as u64, "the salvaged frames are kept");
        for seq in next..next + 100 {
            writer.append(&realistic::frame(0, seq)).unwrap();
        }
        writer.close().unwrap();
        let (all, error) = read_all(&path);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(all.len() as u64, next + 100);
        assert_frames(&all[all.len() - 100..], 0, next);
    }
    // The writer streams each member's bytes to the file as they accumulate, so a kill nearly
    // always lands inside a member; one clean attempt in six is possible, six are not.
    assert!(torn >= 1, "no attempt left a torn member");
}
