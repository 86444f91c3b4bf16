//! `pitwall serve` SIGKILLed and restarted ten times, at seeded pseudo-random moments, while
//! three `pitwall bridge` processes (three cars of the simulated game) stream to it: at the end
//! every frame of every recording is in the server's write-ahead log exactly once.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::procs::{BridgeProcess, Server, bridge, free_addr, n, recorded, serve, wal};

const KILLS: usize = 10;
const CARS: u64 = 3;
/// Seed of the moments of the kills.
const SEED: u64 = 0x5eed_4b11;

/// splitmix64: the moments of the kills, the same every run.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, range: std::ops::Range<u64>) -> Duration {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Duration::from_millis(range.start + z % (range.end - range.start))
    }
}

#[test]
fn a_server_sigkilled_ten_times_during_a_three_car_stream_stores_every_frame_exactly_once() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let addr = free_addr();
    let mut server = Server(serve(addr, &data));
    let url = format!("http://{addr}");
    let mut cars: Vec<BridgeProcess> = (0..CARS)
        .map(|car| {
            let seed = (car + 1).to_string();
            let args = [
                "--source",
                "sim",
                "--seed",
                &seed,
                "--speed",
                "5",
                "--server",
                &url,
                "--duration",
                "12",
                "--ack-grace",
                "30",
            ];
            bridge(&args, &dir.path().join(format!("car{car}.pb.gz")))
        })
        .collect();

    let mut moments = Moments(SEED);
    let mut acked_at_kills = Vec::new();
    for _ in 0..KILLS {
        std::thread::sleep(moments.next_ms(200..1_100));
        server.0.kill().unwrap();
        server.0.wait().unwrap();
        let acked: u64 = cars.iter_mut().map(|c| c.latest().map_or(0, |v| n(v, "frames_acked"))).sum();
        acked_at_kills.push(acked);
        std::thread::sleep(moments.next_ms(0..400));
        server = Server(serve(addr, &data));
    }
    let kills_done = started.elapsed();
    assert!(
        acked_at_kills.windows(2).filter(|w| w[1] > w[0]).count() >= KILLS / 2,
        "the bridges got acks between most kills: {acked_at_kills:?}"
    );

    let mut frames = 0;
    for car in &mut cars {
        let (last, _) = car.finish();
        assert_eq!(n(&last, "backlog_frames"), 0, "{last}");
        assert_eq!(n(&last, "frames_acked"), n(&last, "frames"), "{last}");
        assert!(n(&last, "disconnects") >= KILLS as u64 / 2, "the kills were felt: {last}");
        frames += n(&last, "frames");
    }
    let ok = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill -TERM failed");
    assert!(server.0.wait().unwrap().success());

    // Every frame of every recording on the server exactly once, and nothing else.
    let stored = wal(&data);
    let mut sessions = 0;
    for car in &cars {
        for (session, seqs) in recorded(&car.record) {
            sessions += 1;
            let count = seqs.len() as u64;
            assert_eq!(seqs, (0..count).collect::<Vec<_>>(), "recorded seqs without gaps");
            let got =
                stored.get(&session).unwrap_or_else(|| panic!("session {session:02x?} not on the server"));
            assert_eq!(got.len() as u64, count, "frames of session {session:02x?} on the server");
            assert!(got.iter().all(|(seq, n)| *seq < count && *n == 1), "exactly once");
        }
    }
    assert_eq!(stored.len(), sessions, "no session on the server that no recording has");
    assert_eq!(stored.values().map(|s| s.len() as u64).sum::<u64>(), frames);
    println!(
        "{frames} frames of {CARS} cars through {KILLS} SIGKILLs (acked at each: {acked_at_kills:?}); \
         kills over after {:.1} s, all done in {:.1} s",
        kills_done.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
