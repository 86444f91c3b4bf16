//! What `pitwall bridge --check` asks before a driver goes on track: are the game's pages
//! there, is the server reachable, does it accept the token. Each answer is a value the CLI
//! turns into a sentence and an exit code; nothing here prints.

use std::path::Path;
use std::time::Duration;

use shm::{GraphicsPage, PageSource as _, StaticPage, Status};

use crate::ServerConfig;
use crate::client::{Client, Probe};
use crate::error::BridgeError;

/// The game's shared memory, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameSeen {
    /// Where the physics page was found (a mapping name or a file).
    pub location: String,
    /// The game's status: off (menus), replay, live or pause.
    pub status: Status,
    /// The car's folder name from the static page (empty before the first session loads).
    pub car: String,
    /// The track's folder name from the static page (empty before the first session loads).
    pub track: String,
}

/// Opens the pages as `--source shm` would (`dir`: `--shm-dir`) and reads the graphics and
/// static pages once. An error means a bridge started now would not see the game.
pub fn shared_memory(dir: Option<&Path>) -> Result<GameSeen, BridgeError> {
    let mut source = crate::source::open_pages(dir)?;
    let location = source.location(shm::Page::Physics);
    let mut graphics = GraphicsPage::new();
    source.read_graphics(&mut graphics)?;
    let mut statics = StaticPage::new();
    source.read_static(&mut statics)?;
    Ok(GameSeen { location, status: graphics.status(), car: statics.car_model(), track: statics.track() })
}

/// What the server said to one connection and call with the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerCheck {
    /// Reachable, and the call was accepted (with the token, or without one when the server
    /// asks for none).
    Accepted,
    /// Nothing answered at the address (the reason: refused, timed out, TLS…).
    Unreachable(String),
    /// The server answered and refused the token; `sent` says whether one was sent at all.
    TokenRefused {
        /// Whether the bridge had a token to send.
        sent: bool,
        /// The server's words.
        message: String,
    },
    /// The server answered, but not as a pitwall server does.
    Failed(String),
}

/// Connects to `config`'s server (at most `timeout` for the connection and for the answer)
/// and makes one call that changes nothing there. Errors are settings that cannot work (a URL
/// without http:// or https://, a token with spaces, an unreadable certificate).
pub async fn server(config: &ServerConfig, timeout: Duration) -> Result<ServerCheck, BridgeError> {
    let client = Client::new(config)?;
    Ok(match client.probe(timeout).await {
        Probe::Accepted => ServerCheck::Accepted,
        Probe::Unreachable(why) => ServerCheck::Unreachable(why),
        Probe::TokenRefused { sent, message } => ServerCheck::TokenRefused { sent, message },
        Probe::Failed(why) => ServerCheck::Failed(why),
    })
}
