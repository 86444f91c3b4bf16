//! Any bytes as a run of the relay's routing core (`relay::Core`): datagrams from the server,
//! datagrams from three plugins, time passing, plugins removed and added. Beyond "no panic", it
//! checks the routing promises after every step:
//! - an event goes to registered plugins only, each at most once;
//! - an event that is not an answer nor a car update goes to every plugin;
//! - an answer (CAR_INFO, SESSION_INFO, ERROR) goes to exactly one plugin or to all;
//! - a car update never goes to a plugin that asked for none;
//! - asks waiting never exceed the limit;
//! - whatever the relay sends the server itself is a REALTIMEPOS_INTERVAL, and asks for the
//!   smallest non-zero interval a plugin wants.
//!
//! The input is a sequence of records: a tag byte, a length byte, then that many bytes. The tag's
//! low two bits say what the record is: 0 an event (the bytes are the datagram), 1 a command from
//! plugin `tag >> 2 % 3` (the bytes are the datagram), 2 time passing (`len` × 10 ms), 3 plugin
//! `tag >> 2 % 3` removed and a new one added in its place.
#![no_main]

use std::time::Duration;

use acsp::{Command, id};
use libfuzzer_sys::fuzz_target;
use relay::{Core, Interval, Limits, PluginId};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_pending: 8, ..Limits::default() };
    let mut core = Core::new(limits.clone());
    let mut now = Duration::ZERO;
    let mut ids: Vec<PluginId> = (0..3).map(|i| core.add_plugin(&format!("p{i}"), now)).collect();
    let mut rest = data;
    while let [tag, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (bytes, tail) = tail.split_at(len);
        rest = tail;
        let slot = usize::from(tag >> 2) % 3;
        match tag & 3 {
            0 => {
                let off: Vec<PluginId> =
                    core.plugins().filter(|p| p.interval == Interval::Off).map(|p| p.id).collect();
                let targets = core.handle_event(now, bytes).to_vec();
                let mut sorted = targets.clone();
                sorted.sort();
                sorted.dedup();
                assert_eq!(sorted.len(), targets.len(), "a plugin twice: {targets:?}");
                assert!(targets.iter().all(|t| ids.contains(t)), "{targets:?} not in {ids:?}");
                match bytes.first().copied() {
                    Some(id::CAR_UPDATE) if bytes.len() >= 2 => {
                        assert!(
                            targets.iter().all(|t| !off.contains(t)),
                            "an update to a plugin that wants none"
                        );
                    }
                    Some(id::CAR_INFO) if bytes.len() >= 2 => {
                        assert!(targets.len() == 1 || targets.len() == 3)
                    }
                    Some(id::SESSION_INFO) if bytes.len() >= 4 => {
                        assert!(targets.len() == 1 || targets.len() == 3)
                    }
                    Some(id::ERROR) => assert!(targets.len() == 1 || targets.len() == 3),
                    _ => assert_eq!(targets.len(), 3, "a broadcast event missed a plugin"),
                }
            }
            1 => {
                let _ = core.handle_command(now, ids[slot], bytes);
            }
            2 => now += Duration::from_millis(10 * len as u64),
            _ => {
                assert!(core.remove_plugin(ids[slot]));
                ids[slot] = core.add_plugin("new", now);
            }
        }
        assert!(core.pending_asks() <= limits.max_pending);
        let wanted = core
            .plugins()
            .filter_map(|p| match p.interval {
                Interval::Every(ms) => Some(ms),
                _ => None,
            })
            .min();
        while let Some(sent) = core.poll_to_server() {
            match acsp::decode_command(&sent) {
                Ok(Command::RealtimeposInterval { interval_ms }) => {
                    if let Some(ms) = wanted {
                        assert_eq!(interval_ms, ms, "the server is asked for the fastest");
                    }
                }
                other => panic!("the relay itself sent {other:?}"),
            }
        }
    }
});
