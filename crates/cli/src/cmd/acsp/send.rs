//! `pitwall acsp send`: send one plugin command, optionally printing the events that follow.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use acsp::{Command, SessionType};
use anyhow::Context as _;
use clap::Subcommand;
use tokio::net::UdpSocket;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server's command endpoint: its IP and UDP_PLUGIN_LOCAL_PORT.
    #[arg(long, global = true, default_value = "127.0.0.1:11000", value_parser = super::parse_server)]
    server: SocketAddr,
    /// Local address to send from. AssettoServer accepts commands only from the IP in its
    /// UDP_PLUGIN_ADDRESS. With --wait, bind the UDP_PLUGIN_ADDRESS port (e.g. 0.0.0.0:12000) to
    /// see the answer; nothing else may be listening there then.
    #[arg(long, global = true, default_value = "0.0.0.0:0")]
    bind: SocketAddr,
    /// After sending, print the events received on --bind for this many seconds.
    #[arg(long, global = true, value_name = "SECS", allow_negative_numbers = true, value_parser = crate::cmd::seconds)]
    wait: Option<Duration>,
    /// Print events (with --wait) as JSON, one object per line.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: SendCommand,
}

#[derive(Debug, Subcommand)]
enum SendCommand {
    /// REALTIMEPOS_INTERVAL (200): CAR_UPDATE every MS milliseconds (0 stops them).
    #[command(alias = "interval")]
    RealtimeposInterval {
        /// Interval, ms.
        interval_ms: u16,
    },
    /// GET_CAR_INFO (201): the server answers CAR_INFO.
    GetCarInfo {
        /// Car id (entry-list slot).
        car_id: u8,
    },
    /// SEND_CHAT (202): a private message to one car.
    SendChat {
        /// Car id.
        car_id: u8,
        /// The message (at most 255 characters).
        message: String,
    },
    /// BROADCAST_CHAT (203): a message to everybody.
    BroadcastChat {
        /// The message (at most 255 characters).
        message: String,
    },
    /// GET_SESSION_INFO (204): the server answers SESSION_INFO.
    GetSessionInfo {
        /// Session index; -1 is the current session.
        #[arg(default_value_t = -1, allow_negative_numbers = true)]
        session_index: i16,
    },
    /// SET_SESSION_INFO (205): change a session. Time and wait are in SECONDS here.
    SetSessionInfo {
        /// Session index.
        session_index: u8,
        /// Session name.
        #[arg(long)]
        name: String,
        /// practice, qualify, race (or a number).
        #[arg(long = "type", value_name = "TYPE")]
        session_type: SessionType,
        /// Laps (0 for a timed session).
        #[arg(long, default_value_t = 0)]
        laps: u32,
        /// Length, seconds.
        #[arg(long, default_value_t = 0)]
        time: u32,
        /// Wait time, seconds.
        #[arg(long, default_value_t = 0)]
        wait_time: u32,
    },
    /// KICK_USER (206).
    KickUser {
        /// Car id.
        car_id: u8,
    },
    /// NEXT_SESSION (207).
    NextSession,
    /// RESTART_SESSION (208).
    RestartSession,
    /// ADMIN_COMMAND (209): an admin chat command, e.g. "/ballast 3 50".
    AdminCommand {
        /// The command text.
        command: String,
    },
}

impl SendCommand {
    fn into_command(self) -> Command {
        match self {
            SendCommand::RealtimeposInterval { interval_ms } => Command::RealtimeposInterval { interval_ms },
            SendCommand::GetCarInfo { car_id } => Command::GetCarInfo { car_id },
            SendCommand::SendChat { car_id, message } => Command::SendChat { car_id, message },
            SendCommand::BroadcastChat { message } => Command::BroadcastChat { message },
            SendCommand::GetSessionInfo { session_index } => Command::GetSessionInfo { session_index },
            SendCommand::SetSessionInfo { session_index, name, session_type, laps, time, wait_time } => {
                Command::SetSessionInfo { session_index, name, session_type, laps, time, wait_time }
            }
            SendCommand::KickUser { car_id } => Command::KickUser { car_id },
            SendCommand::NextSession => Command::NextSession,
            SendCommand::RestartSession => Command::RestartSession,
            SendCommand::AdminCommand { command } => Command::AdminCommand { command },
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let command = args.command.into_command();
    let mut bytes = Vec::new();
    acsp::encode(&command, &mut bytes)?;
    let socket = UdpSocket::bind(args.bind).await.with_context(|| format!("cannot bind {}", args.bind))?;
    socket
        .send_to(&bytes, args.server)
        .await
        .with_context(|| format!("cannot send {} to {}", command.name(), args.server))?;
    eprintln!("sent {} ({} bytes) to {}", command.name(), bytes.len(), args.server);
    let Some(wait) = args.wait else {
        return Ok(ExitCode::SUCCESS);
    };
    // A wait too long for the clock is as good as forever.
    let deadline = tokio::time::Instant::now().checked_add(wait);
    let mut buf = vec![0u8; 65536];
    let mut out = super::Out::stdout();
    loop {
        let received = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await,
            None => Ok(socket.recv_from(&mut buf).await),
        };
        let (n, from) = match received {
            Err(_elapsed) => return Ok(ExitCode::SUCCESS),
            Ok(r) => r.context("cannot receive")?,
        };
        if from.ip() != args.server.ip() {
            tracing::warn!(%from, "datagram from an unexpected address ignored");
            continue;
        }
        match acsp::decode(&buf[..n]) {
            // Flushed at once: the answer is awaited by whoever runs the command.
            Ok(event) => match super::print_event(&mut out, &event, args.json).and_then(|()| out.flush()) {
                Err(e) if e.is::<super::BrokenPipe>() => return Ok(ExitCode::SUCCESS),
                r => r?,
            },
            Err(e) => eprintln!("malformed datagram from {from}: {e}"),
        }
    }
}
