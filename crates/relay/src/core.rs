//! The routing state, sans IO: datagrams and the time in, decisions out.
//!
//! [`Core::handle_event`] takes a datagram from the server and says which plugins get it;
//! [`Core::handle_command`] takes a datagram from one plugin and says whether it goes on to the
//! server; [`Core::poll_to_server`] yields the commands the relay itself sends (the reconciled
//! car-update interval). Nothing here knows a socket or a clock: `now` is any monotonic
//! [`Duration`] the caller counts from a start of its own choosing.
//!
//! The rules:
//! - Every event goes to every plugin, except the three below.
//! - CAR_INFO goes to the plugin whose GET_CAR_INFO for that car is the oldest one waiting;
//!   SESSION_INFO to the plugin whose GET_SESSION_INFO matches (same index, or -1 and the
//!   current session); an ERROR that names a command (`ACSP_KICK_USER index 9 …`) to the plugin
//!   that sent that command. An answer nobody is waiting for goes to every plugin. An ask waits
//!   at most [`Limits::answer_timeout`].
//! - CAR_UPDATE goes to each plugin at the interval it asked for, per car: an update is
//!   forwarded when the last one forwarded for that car is at least the plugin's interval old,
//!   less half the server's interval (so that the jitter of the server's own ticks does not
//!   make a plugin asking 1000 ms of a server sending every 100 ms get one update in 1100 ms).
//!   A plugin asking no slower than the server sends, or that never asked, gets every update
//!   the server sends; one that asked for 0 gets none.
//! - REALTIMEPOS_INTERVAL is never passed on as sent: the server is asked for the smallest
//!   non-zero interval any plugin wants, after every such command, after a plugin goes and
//!   after every NEW_SESSION (the stock server may forget it between sessions). When every
//!   plugin asked for 0, the server is asked for 0; when no plugin asked anything, the server
//!   is left alone.
//! - Commands from one plugin are limited by a token bucket; malformed ones are dropped. Both
//!   are counted, and logging them is gated to one line per [`Limits::log_every`].

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use acsp::{Command, DecodeError, Event, id};

use crate::config::Limits;

/// A plugin's identity inside the relay; never reused while the relay runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PluginId(pub u32);

impl fmt::Display for PluginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What a plugin asked of the car-update stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// It never asked: it gets whatever the server sends.
    ServerDefault,
    /// It asked for 0: no car updates.
    Off,
    /// It asked for one update per car every this many ms.
    Every(u16),
}

impl Interval {
    fn from_ms(ms: u16) -> Interval {
        if ms == 0 { Interval::Off } else { Interval::Every(ms) }
    }

    /// The interval in ms as a gauge: 0 for [`Interval::Off`], `None` for the server default.
    pub fn ms(self) -> Option<u16> {
        match self {
            Interval::ServerDefault => None,
            Interval::Off => Some(0),
            Interval::Every(ms) => Some(ms),
        }
    }
}

/// Counters the core keeps per plugin (the runtime keeps those of the sockets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreCounters {
    /// Events routed to the plugin.
    pub events: u64,
    /// Car updates held back to keep the plugin at its interval.
    pub updates_skipped: u64,
    /// Answers (CAR_INFO, SESSION_INFO, ERROR) routed to the plugin alone.
    pub answers: u64,
    /// Commands accepted and passed on to the server.
    pub commands: u64,
    /// REALTIMEPOS_INTERVAL commands taken in (reconciled, not passed on as sent).
    pub intervals: u64,
    /// Datagrams that are not a valid command; dropped.
    pub malformed: u64,
    /// Commands over the plugin's rate; dropped.
    pub rate_limited: u64,
}

/// What became of a plugin's datagram.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandOutcome {
    /// Send the datagram, unchanged, to the server.
    Forward,
    /// A REALTIMEPOS_INTERVAL: the relay asks the server itself (see [`Core::poll_to_server`]).
    Absorbed,
    /// Not a valid command: dropped. `log` is set when a log line is due, with the number of
    /// such datagrams not logged since the last line.
    Malformed {
        /// Why it does not decode.
        error: DecodeError,
        /// Whether to log, and how many were not logged before this one.
        log: Option<u64>,
    },
    /// Over the plugin's rate: dropped. `log` as for [`CommandOutcome::Malformed`].
    RateLimited {
        /// Whether to log, and how many were not logged before this one.
        log: Option<u64>,
    },
    /// No such plugin (it was removed while its datagram was on the way).
    UnknownPlugin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AskKind {
    CarInfo,
    SessionInfo,
    SetSessionInfo,
    KickUser,
}

impl AskKind {
    /// The command's name as the server spells it in an ERROR message.
    fn error_name(self) -> &'static str {
        match self {
            AskKind::CarInfo => "ACSP_GET_CAR_INFO",
            AskKind::SessionInfo => "ACSP_GET_SESSION_INFO",
            AskKind::SetSessionInfo => "ACSP_SET_SESSION_INFO",
            AskKind::KickUser => "ACSP_KICK_USER",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Ask {
    plugin: PluginId,
    kind: AskKind,
    /// The car id or session index the command named.
    arg: i32,
    at: Duration,
}

#[derive(Debug, Clone)]
struct TokenBucket {
    tokens: f64,
    at: Duration,
}

impl TokenBucket {
    fn take(&mut self, now: Duration, rate: f64, burst: f64) -> bool {
        let elapsed = now.saturating_sub(self.at).as_secs_f64();
        self.at = self.at.max(now);
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One log line per period; the lines held back are counted.
#[derive(Debug, Clone, Default)]
struct LogGate {
    last: Option<Duration>,
    held: u64,
}

impl LogGate {
    fn allow(&mut self, now: Duration, every: Duration) -> Option<u64> {
        match self.last {
            Some(last) if now.saturating_sub(last) < every => {
                self.held += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held))
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Plugin {
    id: PluginId,
    name: String,
    interval: Interval,
    /// When the last CAR_UPDATE of each car went to this plugin.
    last_update: Box<[Option<Duration>; 256]>,
    bucket: TokenBucket,
    malformed_log: LogGate,
    rate_log: LogGate,
    counters: CoreCounters,
}

/// A plugin as the core sees it, for metrics and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginView {
    /// Its id.
    pub id: PluginId,
    /// Its name.
    pub name: String,
    /// What it asked of the car-update stream.
    pub interval: Interval,
    /// Its counters.
    pub counters: CoreCounters,
}

/// Relay-wide counters of the core.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreStats {
    /// Datagrams from the server.
    pub events: u64,
    /// Answers that nobody was waiting for (sent to every plugin).
    pub unsolicited_answers: u64,
    /// Asks that timed out or were pushed out by newer ones.
    pub expired_asks: u64,
    /// Interval commands the relay sent the server.
    pub intervals_sent: u64,
}

/// The routing state. See the module docs for the rules.
#[derive(Debug)]
pub struct Core {
    limits: Limits,
    plugins: Vec<Plugin>,
    next_id: u32,
    asks: VecDeque<Ask>,
    /// The interval last asked of the server, if any.
    server_interval: Option<u16>,
    to_server: VecDeque<Vec<u8>>,
    targets: Vec<PluginId>,
    stats: CoreStats,
}

impl Core {
    /// An empty relay with these limits.
    pub fn new(limits: Limits) -> Core {
        Core {
            limits,
            plugins: Vec::new(),
            next_id: 0,
            asks: VecDeque::new(),
            server_interval: None,
            to_server: VecDeque::new(),
            targets: Vec::new(),
            stats: CoreStats::default(),
        }
    }

    /// Adds a plugin; it gets events from the next one on.
    pub fn add_plugin(&mut self, name: &str, now: Duration) -> PluginId {
        let id = PluginId(self.next_id);
        self.next_id += 1;
        self.plugins.push(Plugin {
            id,
            name: name.to_owned(),
            interval: Interval::ServerDefault,
            last_update: Box::new([None; 256]),
            bucket: TokenBucket { tokens: self.limits.command_burst, at: now },
            malformed_log: LogGate::default(),
            rate_log: LogGate::default(),
            counters: CoreCounters::default(),
        });
        id
    }

    /// Removes a plugin: its asks are forgotten, and if it wanted the fastest updates the
    /// server is asked for the next fastest. Returns whether it was there.
    pub fn remove_plugin(&mut self, id: PluginId) -> bool {
        let Some(at) = self.plugins.iter().position(|p| p.id == id) else { return false };
        self.plugins.remove(at);
        self.asks.retain(|a| a.plugin != id);
        if let Some(ms) = self.desired_interval() {
            if Some(ms) != self.server_interval {
                self.ask_server(ms);
            }
        }
        true
    }

    /// The plugins, in the order they were added.
    pub fn plugins(&self) -> impl Iterator<Item = PluginView> + '_ {
        self.plugins.iter().map(|p| PluginView {
            id: p.id,
            name: p.name.clone(),
            interval: p.interval,
            counters: p.counters,
        })
    }

    /// Relay-wide counters.
    pub fn stats(&self) -> CoreStats {
        self.stats
    }

    /// The interval last asked of the server.
    pub fn server_interval(&self) -> Option<u16> {
        self.server_interval
    }

    /// Asks waiting for their answer.
    pub fn pending_asks(&self) -> usize {
        self.asks.len()
    }

    /// The next command the relay itself sends the server, encoded.
    pub fn poll_to_server(&mut self) -> Option<Vec<u8>> {
        self.to_server.pop_front()
    }

    /// Routes one datagram from the server: the plugins it goes to, each at most once. A
    /// datagram that does not decode still goes to everyone (it is the plugins' to judge).
    pub fn handle_event(&mut self, now: Duration, datagram: &[u8]) -> &[PluginId] {
        self.stats.events += 1;
        self.expire(now);
        self.targets.clear();
        match datagram.first().copied() {
            Some(id::CAR_UPDATE) if datagram.len() >= 2 => self.route_update(now, datagram[1]),
            Some(id::CAR_INFO) if datagram.len() >= 2 => {
                let car = i32::from(datagram[1]);
                let ask = self.take_ask(|a| a.kind == AskKind::CarInfo && a.arg == car);
                self.answer_or_all(ask);
            }
            // NEW_SESSION and SESSION_INFO: id, protocol version, session index, current index.
            Some(id::SESSION_INFO) if datagram.len() >= 4 => {
                let (index, current) = (i32::from(datagram[2]), i32::from(datagram[3]));
                let ask = self.take_ask(|a| {
                    a.kind == AskKind::SessionInfo && (a.arg == index || (a.arg == -1 && index == current))
                });
                self.answer_or_all(ask);
            }
            Some(id::ERROR) => {
                let ask = match acsp::decode(datagram) {
                    Ok(Event::Error(e)) => self.error_asker(&e.message),
                    _ => None,
                };
                self.answer_or_all(ask);
            }
            Some(id::NEW_SESSION) => {
                self.all();
                if let Some(ms) = self.desired_interval() {
                    self.ask_server(ms);
                }
            }
            _ => self.all(),
        }
        for target in &self.targets {
            if let Some(p) = self.plugins.iter_mut().find(|p| p.id == *target) {
                p.counters.events += 1;
            }
        }
        &self.targets
    }

    /// Takes one datagram a plugin sent the relay.
    pub fn handle_command(&mut self, now: Duration, plugin: PluginId, datagram: &[u8]) -> CommandOutcome {
        self.expire(now);
        let limits = &self.limits;
        let Some(p) = self.plugins.iter_mut().find(|p| p.id == plugin) else {
            return CommandOutcome::UnknownPlugin;
        };
        if !p.bucket.take(now, limits.commands_per_second, limits.command_burst) {
            p.counters.rate_limited += 1;
            return CommandOutcome::RateLimited { log: p.rate_log.allow(now, limits.log_every) };
        }
        let command = match acsp::decode_command_datagram(datagram) {
            Ok(d) => d.message,
            Err(error) => {
                p.counters.malformed += 1;
                return CommandOutcome::Malformed {
                    error,
                    log: p.malformed_log.allow(now, limits.log_every),
                };
            }
        };
        let ask = |kind, arg| Ask { plugin, kind, arg, at: now };
        let ask = match command {
            Command::RealtimeposInterval { interval_ms } => {
                p.counters.intervals += 1;
                p.interval = Interval::from_ms(interval_ms);
                if let Some(ms) = self.desired_interval() {
                    self.ask_server(ms);
                }
                return CommandOutcome::Absorbed;
            }
            Command::GetCarInfo { car_id } => Some(ask(AskKind::CarInfo, i32::from(car_id))),
            Command::GetSessionInfo { session_index } => {
                Some(ask(AskKind::SessionInfo, i32::from(session_index)))
            }
            Command::SetSessionInfo { session_index, .. } => {
                Some(ask(AskKind::SetSessionInfo, i32::from(session_index)))
            }
            Command::KickUser { car_id } => Some(ask(AskKind::KickUser, i32::from(car_id))),
            _ => None,
        };
        p.counters.commands += 1;
        if let Some(ask) = ask {
            if self.asks.len() >= self.limits.max_pending {
                self.asks.pop_front();
                self.stats.expired_asks += 1;
            }
            self.asks.push_back(ask);
        }
        CommandOutcome::Forward
    }

    fn all(&mut self) {
        self.targets.extend(self.plugins.iter().map(|p| p.id));
    }

    fn answer_or_all(&mut self, ask: Option<Ask>) {
        match ask.and_then(|a| self.plugins.iter_mut().find(|p| p.id == a.plugin)) {
            Some(p) => {
                p.counters.answers += 1;
                self.targets.push(p.id);
            }
            None => {
                self.stats.unsolicited_answers += 1;
                self.all();
            }
        }
    }

    fn route_update(&mut self, now: Duration, car: u8) {
        let half_server = Duration::from_millis(u64::from(self.server_interval.unwrap_or(0)) / 2);
        for p in &mut self.plugins {
            let due = match p.interval {
                Interval::ServerDefault => true,
                Interval::Off => false,
                // Asking no slower than the server sends: every update is due.
                Interval::Every(ms) if Some(ms) <= self.server_interval => true,
                Interval::Every(ms) => match p.last_update[usize::from(car)] {
                    None => true,
                    // A clock that stepped back (it should not) forwards rather than starves.
                    Some(last) => {
                        now.saturating_sub(last) + half_server >= Duration::from_millis(u64::from(ms))
                            || now < last
                    }
                },
            };
            if due {
                p.last_update[usize::from(car)] = Some(now);
                self.targets.push(p.id);
            } else {
                p.counters.updates_skipped += 1;
            }
        }
    }

    /// The asker of the command an ERROR message names, with the index it names if any: the
    /// stock texts are `ERROR: ACSP_KICK_USER index 9 out of bound` and
    /// `ERROR: ACSP_GET_SESSION_INFO out of bounds: 9`.
    fn error_asker(&mut self, message: &str) -> Option<Ask> {
        let kind = [AskKind::CarInfo, AskKind::SessionInfo, AskKind::SetSessionInfo, AskKind::KickUser]
            .into_iter()
            .find(|k| message.contains(k.error_name()))?;
        let arg = last_integer(message);
        self.take_ask(|a| a.kind == kind && arg.is_none_or(|n| n == a.arg))
            .or_else(|| self.take_ask(|a| a.kind == kind))
    }

    fn take_ask(&mut self, matches: impl Fn(&Ask) -> bool) -> Option<Ask> {
        let at = self.asks.iter().position(matches)?;
        self.asks.remove(at)
    }

    fn expire(&mut self, now: Duration) {
        while let Some(a) = self.asks.front() {
            if now.saturating_sub(a.at) <= self.limits.answer_timeout {
                break;
            }
            self.asks.pop_front();
            self.stats.expired_asks += 1;
        }
    }

    /// The smallest non-zero interval any plugin wants; 0 when every plugin asked for none;
    /// `None` when no plugin has a say.
    fn desired_interval(&self) -> Option<u16> {
        let fastest = self
            .plugins
            .iter()
            .filter_map(|p| match p.interval {
                Interval::Every(ms) => Some(ms),
                _ => None,
            })
            .min();
        let all_off = !self.plugins.is_empty() && self.plugins.iter().all(|p| p.interval == Interval::Off);
        fastest.or(all_off.then_some(0))
    }

    fn ask_server(&mut self, ms: u16) {
        self.server_interval = Some(ms);
        self.stats.intervals_sent += 1;
        let mut out = Vec::with_capacity(3);
        // Encoding an interval cannot fail: it has no string.
        if acsp::encode(&Command::RealtimeposInterval { interval_ms: ms }, &mut out).is_ok() {
            self.to_server.push_back(out);
        }
    }
}

/// The last (possibly negative) decimal integer in a text.
fn last_integer(text: &str) -> Option<i32> {
    let bytes = text.as_bytes();
    let end = bytes.iter().rposition(u8::is_ascii_digit)? + 1;
    let mut start = end;
    while start > 0 && bytes[start - 1].is_ascii_digit() {
        start -= 1;
    }
    if start > 0 && bytes[start - 1] == b'-' {
        start -= 1;
    }
    text[start..end].parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use acsp::{CarInfo, CarUpdate, Chat, ErrorMessage, SessionInfo, SessionType, StringWidth, Vec3};

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn bytes(e: &Event) -> Vec<u8> {
        let mut v = Vec::new();
        acsp::encode_event(e, &mut v).unwrap();
        v
    }

    fn cmd(c: &Command) -> Vec<u8> {
        let mut v = Vec::new();
        acsp::encode(c, &mut v).unwrap();
        v
    }

    fn update(car: u8) -> Vec<u8> {
        bytes(&Event::CarUpdate(CarUpdate {
            car_id: car,
            position: Vec3::default(),
            velocity: Vec3::default(),
            gear: 2,
            engine_rpm: 5000,
            normalized_spline_pos: 0.5,
        }))
    }

    fn car_info(car: u8) -> Vec<u8> {
        bytes(&Event::CarInfo(CarInfo {
            car_id: car,
            is_connected: true,
            car_model: "m".into(),
            car_skin: "s".into(),
            driver_name: "d".into(),
            driver_team: "t".into(),
            driver_guid: "g".into(),
        }))
    }

    fn session(event_new: bool, index: u8, current: u8) -> Vec<u8> {
        let info = SessionInfo {
            protocol_version: 4,
            session_index: index,
            current_session_index: current,
            session_count: 3,
            server_name: "s".into(),
            track: "t".into(),
            track_config: String::new(),
            name: "Practice".into(),
            session_type: SessionType::Practice,
            time: 10,
            laps: 0,
            wait_time: 0,
            ambient_temp: 20,
            road_temp: 25,
            weather_graphics: "3_clear".into(),
            weather_encoding: StringWidth::default(),
            elapsed_ms: 0,
        };
        bytes(&if event_new { Event::NewSession(info) } else { Event::SessionInfo(info) })
    }

    fn error(text: &str) -> Vec<u8> {
        bytes(&Event::Error(ErrorMessage { message: text.into() }))
    }

    fn three() -> (Core, [PluginId; 3]) {
        let mut core = Core::new(Limits::default());
        let ids = [core.add_plugin("a", ms(0)), core.add_plugin("b", ms(0)), core.add_plugin("c", ms(0))];
        (core, ids)
    }

    fn intervals(core: &mut Core) -> Vec<u16> {
        std::iter::from_fn(|| core.poll_to_server())
            .map(|b| match acsp::decode_command(&b).unwrap() {
                Command::RealtimeposInterval { interval_ms } => interval_ms,
                other => panic!("the relay sent {other:?}"),
            })
            .collect()
    }

    #[test]
    fn every_event_goes_to_every_plugin() {
        let (mut core, ids) = three();
        let chat = bytes(&Event::Chat(Chat { car_id: 1, message: "hi".into() }));
        assert_eq!(core.handle_event(ms(1), &chat), ids);
        assert_eq!(core.handle_event(ms(2), &[0xff, 1, 2]), ids, "undecodable: the plugins judge");
        assert_eq!(core.handle_event(ms(3), &[]), ids);
        assert_eq!(core.plugins().map(|p| p.counters.events).collect::<Vec<_>>(), [3, 3, 3]);
    }

    #[test]
    fn car_info_goes_to_the_asker_in_order_and_unasked_to_all() {
        let (mut core, [a, b, c]) = three();
        let ask = |car| cmd(&Command::GetCarInfo { car_id: car });
        assert_eq!(core.handle_command(ms(0), b, &ask(3)), CommandOutcome::Forward);
        assert_eq!(core.handle_command(ms(1), a, &ask(3)), CommandOutcome::Forward);
        assert_eq!(core.handle_command(ms(2), c, &ask(5)), CommandOutcome::Forward);
        assert_eq!(core.handle_event(ms(10), &car_info(5)), [c]);
        assert_eq!(core.handle_event(ms(11), &car_info(3)), [b], "oldest ask first");
        assert_eq!(core.handle_event(ms(12), &car_info(3)), [a]);
        assert_eq!(core.handle_event(ms(13), &car_info(3)), [a, b, c], "nobody waits any more");
        assert_eq!(core.stats().unsolicited_answers, 1);
        assert_eq!(core.pending_asks(), 0);
    }

    #[test]
    fn asks_time_out_and_their_answer_goes_to_all() {
        let (mut core, [a, ..]) = three();
        core.handle_command(ms(0), a, &cmd(&Command::GetCarInfo { car_id: 1 }));
        let late = Limits::default().answer_timeout + ms(1);
        assert_eq!(core.handle_event(late, &car_info(1)).len(), 3);
        assert_eq!(core.stats().expired_asks, 1);
    }

    #[test]
    fn session_info_goes_to_the_asker_of_that_session() {
        let (mut core, [a, b, c]) = three();
        core.handle_command(ms(0), a, &cmd(&Command::GetSessionInfo { session_index: 2 }));
        core.handle_command(ms(0), b, &cmd(&Command::GetSessionInfo { session_index: -1 }));
        assert_eq!(core.handle_event(ms(1), &session(false, 1, 1)), [b], "-1 is the current session");
        assert_eq!(core.handle_event(ms(1), &session(false, 2, 1)), [a]);
        assert_eq!(core.handle_event(ms(1), &session(false, 0, 1)), [a, b, c]);
        assert_eq!(core.handle_event(ms(1), &session(true, 0, 0)), [a, b, c], "NEW_SESSION is for all");
    }

    #[test]
    fn errors_go_to_the_command_they_name() {
        let (mut core, [a, b, c]) = three();
        core.handle_command(ms(0), a, &cmd(&Command::KickUser { car_id: 9 }));
        core.handle_command(ms(0), b, &cmd(&Command::KickUser { car_id: 40 }));
        core.handle_command(ms(0), c, &cmd(&Command::GetSessionInfo { session_index: 7 }));
        assert_eq!(core.handle_event(ms(1), &error("ERROR: ACSP_KICK_USER index 40 out of bound")), [b]);
        assert_eq!(core.handle_event(ms(1), &error("ERROR: ACSP_GET_SESSION_INFO out of bounds: 7")), [c]);
        assert_eq!(
            core.handle_event(ms(1), &error("ERROR: ACSP_KICK_USER index 1 out of bound")),
            [a],
            "index unknown: the oldest kick"
        );
        assert_eq!(core.handle_event(ms(1), &error("something else")), [a, b, c]);
        assert_eq!(last_integer("bounds: -12"), Some(-12));
        assert_eq!(last_integer("no number"), None);
    }

    #[test]
    fn the_server_gets_the_fastest_interval_and_again_after_new_session() {
        let (mut core, [a, b, c]) = three();
        let interval = |n| cmd(&Command::RealtimeposInterval { interval_ms: n });
        assert_eq!(core.handle_command(ms(0), a, &interval(1000)), CommandOutcome::Absorbed);
        assert_eq!(core.handle_command(ms(0), b, &interval(100)), CommandOutcome::Absorbed);
        assert_eq!(core.handle_command(ms(0), c, &interval(0)), CommandOutcome::Absorbed);
        assert_eq!(intervals(&mut core), [1000, 100, 100]);
        core.handle_event(ms(5), &session(true, 1, 1));
        assert_eq!(intervals(&mut core), [100], "re-sent after NEW_SESSION");
        assert!(core.remove_plugin(b));
        assert_eq!(intervals(&mut core), [1000], "the fastest left");
        assert!(core.remove_plugin(a));
        assert_eq!(intervals(&mut core), [0], "only a plugin wanting none is left");
        assert!(!core.remove_plugin(a));
    }

    #[test]
    fn nobody_asking_leaves_the_server_alone() {
        let (mut core, _) = three();
        core.handle_event(ms(0), &session(true, 0, 0));
        assert!(intervals(&mut core).is_empty());
        assert_eq!(core.server_interval(), None);
    }

    #[test]
    fn each_plugin_gets_updates_at_its_own_rate() {
        let (mut core, [a, b, c]) = three();
        core.handle_command(ms(0), a, &cmd(&Command::RealtimeposInterval { interval_ms: 1000 }));
        core.handle_command(ms(0), b, &cmd(&Command::RealtimeposInterval { interval_ms: 100 }));
        let mut got = [0u32; 3];
        // The server ticks every 100 ms with a few ms of jitter, for two cars, for 10 s.
        for tick in 0..100u64 {
            let now = ms(tick * 100 + (tick * 7) % 5);
            for car in [0, 1] {
                for id in core.handle_event(now, &update(car)) {
                    got[id.0 as usize] += 1;
                }
            }
        }
        assert_eq!(got, [20, 200, 200], "a: 1 Hz, b: 10 Hz, c (never asked): all");
        assert_eq!(core.plugins().next().unwrap().counters.updates_skipped, 180);
        core.handle_command(ms(20_000), c, &cmd(&Command::RealtimeposInterval { interval_ms: 0 }));
        assert!(!core.handle_event(ms(20_100), &update(0)).contains(&c), "0 means none");
    }

    #[test]
    fn malformed_and_flooding_commands_are_dropped_counted_and_logged_sparingly() {
        let limits = Limits { commands_per_second: 10.0, command_burst: 5.0, ..Limits::default() };
        let mut core = Core::new(limits);
        let a = core.add_plugin("a", ms(0));
        let first = core.handle_command(ms(0), a, &[0xc9]);
        assert!(matches!(first, CommandOutcome::Malformed { log: Some(0), .. }), "{first:?}");
        assert!(matches!(
            core.handle_command(ms(1), a, &[0x01]),
            CommandOutcome::Malformed { log: None, .. }
        ));
        let ok = cmd(&Command::NextSession);
        let outcomes: Vec<_> = (0..10).map(|_| core.handle_command(ms(2), a, &ok)).collect();
        assert_eq!(
            outcomes.iter().filter(|o| **o == CommandOutcome::Forward).count(),
            3,
            "burst of 5, 2 used"
        );
        assert_eq!(outcomes[3], CommandOutcome::RateLimited { log: Some(0) });
        assert_eq!(outcomes[4], CommandOutcome::RateLimited { log: None });
        assert_eq!(core.handle_command(ms(1000), a, &ok), CommandOutcome::Forward, "refilled");
        let later = core.handle_command(ms(20_000), a, &[0xc9]);
        assert!(matches!(later, CommandOutcome::Malformed { log: Some(1), .. }), "one held back: {later:?}");
        let c = core.plugins().next().unwrap().counters;
        assert_eq!((c.malformed, c.rate_limited, c.commands), (3, 7, 4));
        assert_eq!(core.handle_command(ms(0), PluginId(99), &ok), CommandOutcome::UnknownPlugin);
    }

    #[test]
    fn asks_are_bounded_and_a_removed_plugins_asks_are_forgotten() {
        let limits = Limits { max_pending: 4, ..Limits::default() };
        let mut core = Core::new(limits);
        let a = core.add_plugin("a", ms(0));
        let b = core.add_plugin("b", ms(0));
        for car in 0..10 {
            core.handle_command(ms(0), a, &cmd(&Command::GetCarInfo { car_id: car }));
        }
        assert_eq!(core.pending_asks(), 4);
        core.handle_command(ms(0), b, &cmd(&Command::GetCarInfo { car_id: 1 }));
        core.remove_plugin(b);
        assert_eq!(core.pending_asks(), 3);
        assert_eq!(core.handle_event(ms(1), &car_info(1)), [a], "b's ask went with it: unsolicited");
        assert_eq!(core.handle_event(ms(1), &car_info(9)), [a]);
    }
}
