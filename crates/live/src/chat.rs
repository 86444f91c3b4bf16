//! Chat commands: a driver types `/best`, `/records` or `/gap` in the game's chat, and the
//! answer goes back to that driver only (SEND_CHAT to their car). Admins, named by GUID in the
//! configuration, also have `/next`, `/restart`, `/kick CAR` and `/pwadmin TEXT` (a server admin command; `/admin` itself is the server's own login).
//!
//! [`answer`] is sans-IO: the chat line and what the engine and the records know in, the
//! commands to send the server out.

use acsp::Command;
use records::{Query, Store};
use timing::{Gap, TimingEngine, format_lap_time};

/// Who may use the admin commands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatConfig {
    /// Steam GUIDs of the admins.
    pub admins: Vec<String>,
}

/// The longest text a SEND_CHAT carries, in characters (a wide string with a one-byte length).
pub const MAX_CHAT_CHARS: usize = 255;

/// A command a driver typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatCommand {
    /// `/help`: what the commands are.
    Help,
    /// `/best`: the driver's best lap in this session and their record on this track and car.
    Best,
    /// `/records`: the three fastest drivers on this track and car.
    Records,
    /// `/gap`: position, and the gaps to the car ahead and to the leader.
    Gap,
    /// `/next` (admin): the next session.
    Next,
    /// `/restart` (admin): restart the session.
    Restart,
    /// `/kick CAR` (admin): kick the driver of a car.
    Kick(u8),
    /// `/pwadmin TEXT` (admin): a server admin command, such as `/ballast 3 50`.
    Admin(String),
}

impl ChatCommand {
    /// Whether only an admin may use it.
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            ChatCommand::Next | ChatCommand::Restart | ChatCommand::Kick(_) | ChatCommand::Admin(_)
        )
    }
}

/// Reads a chat line: `None` when it is not one of our commands (ordinary chat, or a server
/// command such as `/admin` that the server handles itself is left alone unless it is ours),
/// `Some(Err(usage))` when it is ours but malformed.
pub fn parse(message: &str) -> Option<Result<ChatCommand, String>> {
    let line = message.trim();
    let rest = line.strip_prefix('/')?;
    let (word, arg) = match rest.split_once(char::is_whitespace) {
        Some((w, a)) => (w, a.trim()),
        None => (rest, ""),
    };
    let command = match word.to_ascii_lowercase().as_str() {
        "help" | "pw" => ChatCommand::Help,
        "best" | "pb" => ChatCommand::Best,
        "records" | "top" => ChatCommand::Records,
        "gap" => ChatCommand::Gap,
        "next" => ChatCommand::Next,
        "restart" => ChatCommand::Restart,
        "kick" => match arg.parse::<u8>() {
            Ok(car) => ChatCommand::Kick(car),
            Err(_) => return Some(Err("usage: /kick CAR_ID".into())),
        },
        "pwadmin" => {
            if arg.is_empty() {
                return Some(Err("usage: /pwadmin /COMMAND ARGS".into()));
            }
            ChatCommand::Admin(arg.to_string())
        }
        _ => return None,
    };
    Some(Ok(command))
}

/// The answer to a chat line from car `car_id`: the commands to send the server, empty when the
/// line is not a command of ours. Answers go to the asker only; an admin command from a
/// driver who is not an admin is refused, to them. `store` is the records database, when
/// there is one (without it `/records` and the all-time part of `/best` say so).
pub fn answer(
    config: &ChatConfig,
    engine: &TimingEngine,
    store: Option<&Store>,
    car_id: u8,
    message: &str,
) -> Vec<Command> {
    let Some(parsed) = parse(message) else {
        return Vec::new();
    };
    let lines = match parsed {
        Err(usage) => vec![usage],
        Ok(command) => {
            let guid = engine.identity(car_id).map(|(g, _)| g).unwrap_or("");
            if command.is_admin() && (guid.is_empty() || !config.admins.iter().any(|a| a == guid)) {
                vec!["that command is for admins only".to_string()]
            } else {
                return run(engine, store, car_id, command);
            }
        }
    };
    to_car(car_id, lines)
}

fn run(engine: &TimingEngine, store: Option<&Store>, car_id: u8, command: ChatCommand) -> Vec<Command> {
    let lines = match command {
        ChatCommand::Help => vec![
            "pitwall: /best your best laps, /records top 3 on this track and car, /gap gaps to the car \
             ahead and the leader"
                .to_string(),
        ],
        ChatCommand::Best => best(engine, store, car_id),
        ChatCommand::Records => top(engine, store, car_id),
        ChatCommand::Gap => gap(engine, car_id),
        ChatCommand::Next => return vec![Command::NextSession],
        ChatCommand::Restart => return vec![Command::RestartSession],
        ChatCommand::Kick(car) => return vec![Command::KickUser { car_id: car }],
        ChatCommand::Admin(text) => return vec![Command::AdminCommand { command: text }],
    };
    to_car(car_id, lines)
}

/// Track, layout and car model of car `car_id` in the running session.
fn where_and_what(engine: &TimingEngine, car_id: u8) -> Option<(String, String, String)> {
    let session = engine.session()?;
    let (_, model) = engine.identity(car_id)?;
    Some((session.track.clone(), session.track_config.clone(), model.to_string()))
}

fn best(engine: &TimingEngine, store: Option<&Store>, car_id: u8) -> Vec<String> {
    let board = engine.board();
    let session_best = board.row(car_id).and_then(|r| r.best_lap_ms);
    let mut line = format!("your best this session: {}", format_lap_time(session_best));
    let guid = engine.identity(car_id).map(|(g, _)| g.to_string()).unwrap_or_default();
    match (store, where_and_what(engine, car_id)) {
        (Some(store), Some((track, layout, car))) if !guid.is_empty() => match store.personal_bests(&guid) {
            Ok(bests) => {
                let record = bests
                    .iter()
                    .find(|b| b.track == track && b.layout == layout && b.car == car)
                    .map(|b| b.time_ms);
                line.push_str(&format!("; your record here in this car: {}", format_lap_time(record)));
            }
            Err(e) => {
                tracing::warn!(error = %e, "records: personal bests not read for /best");
                line.push_str("; records unavailable");
            }
        },
        (None, _) => line.push_str("; no records database"),
        _ => {}
    }
    vec![line]
}

fn top(engine: &TimingEngine, store: Option<&Store>, car_id: u8) -> Vec<String> {
    let Some(store) = store else {
        return vec!["no records database on this server".into()];
    };
    let Some((track, layout, car)) = where_and_what(engine, car_id) else {
        return vec!["no session or car known yet".into()];
    };
    let mut q = Query::new(&track, &layout);
    q.cars = vec![car.clone()];
    q.limit = Some(3);
    match store.leaderboard(&q) {
        Ok(rows) if rows.is_empty() => vec![format!("no records yet for {car} here")],
        Ok(rows) => {
            let list: Vec<String> = rows
                .iter()
                .map(|r| {
                    format!(
                        "{}. {} {}",
                        r.position,
                        text::escape_controls(&r.name),
                        format_lap_time(Some(r.time_ms))
                    )
                })
                .collect();
            vec![format!("records {car}: {}", list.join("  "))]
        }
        Err(e) => {
            tracing::warn!(error = %e, "records: leaderboard not read for /records");
            vec!["records unavailable".into()]
        }
    }
}

fn gap(engine: &TimingEngine, car_id: u8) -> Vec<String> {
    let board = engine.board();
    let Some(row) = board.row(car_id) else {
        return vec!["you are not in the standings yet".into()];
    };
    let show = |g: Option<Gap>| match g {
        Some(Gap::Leader) | None => "-".to_string(),
        Some(Gap::Time { ms }) => format!("+{}.{:03}", ms / 1000, ms % 1000),
        Some(Gap::Laps { laps }) => format!("+{laps} lap{}", if laps == 1 { "" } else { "s" }),
    };
    if row.position == 1 {
        let behind = board.rows.get(1);
        let to_second = behind.map(|r| show(r.interval)).unwrap_or_else(|| "-".into());
        return vec![format!("P1, leading; P2 is {to_second} behind")];
    }
    let ahead =
        board.rows.get(row.position - 2).map(|r| text::escape_controls(&r.driver)).unwrap_or_default();
    vec![format!(
        "P{}: {} to P{} ({ahead}), {} to the leader",
        row.position,
        show(row.interval),
        row.position - 1,
        show(row.gap)
    )]
}

/// SEND_CHATs to one car, each line cut to what a chat message carries.
fn to_car(car_id: u8, lines: Vec<String>) -> Vec<Command> {
    lines
        .into_iter()
        .map(|l| Command::SendChat { car_id, message: l.chars().take(MAX_CHAT_CHARS).collect() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_case_blind_and_other_chat_is_left_alone() {
        assert_eq!(parse("/best"), Some(Ok(ChatCommand::Best)));
        assert_eq!(parse("  /GAP  "), Some(Ok(ChatCommand::Gap)));
        assert_eq!(parse("/kick 7"), Some(Ok(ChatCommand::Kick(7))));
        assert!(matches!(parse("/kick seven"), Some(Err(_))));
        assert_eq!(parse("/pwadmin /ballast 3 50"), Some(Ok(ChatCommand::Admin("/ballast 3 50".into()))));
        assert_eq!(parse("gg everyone"), None);
        assert_eq!(parse("/ballast 3 50"), None);
        assert_eq!(parse("/"), None);
    }

    #[test]
    fn a_long_answer_is_cut_to_a_chat_message() {
        let commands = to_car(3, vec!["é".repeat(400)]);
        let [Command::SendChat { car_id: 3, message }] = &commands[..] else { panic!("{commands:?}") };
        assert_eq!(message.chars().count(), MAX_CHAT_CHARS);
    }
}
