//! The sections of `pitwall serve`'s config file around the ingest server's own settings:
//!
//! ```toml
//! [timing]                          # follow the AC server on this machine
//! server = "127.0.0.1:11000"        # its IP and UDP_PLUGIN_LOCAL_PORT
//! port = 12000                      # the port of its UDP_PLUGIN_ADDRESS [default: 12000]
//! any_port = false                  # accept its events from any port of its IP
//! interval_ms = 100                 # car-update interval to ask for
//! admins = ["76561198000000000"]    # GUIDs allowed the admin chat commands
//!
//! [relay]                           # other plugins of the same server, behind pitwall
//! capture = "/var/lib/pitwall/relay.pcap"
//! [[relay.plugin]]                  # read again on SIGHUP (systemctl reload)
//! name = "stracker"
//! addr = "127.0.0.1:12001"          # where the plugin listens for events
//! reply = 11001                     # the relay's port the plugin sends its commands to
//!
//! [dashboard]
//! listen = "127.0.0.1:8080"
//! token = "…"                       # required beyond loopback
//! ```
//!
//! Flags win over the file; `--admin` and `--relay-plugin` add to its lists (a flag's plugin
//! replaces the file's of the same name).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `[timing]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TimingSection {
    pub server: Option<SocketAddr>,
    pub port: Option<u16>,
    pub any_port: Option<bool>,
    pub interval_ms: Option<u16>,
    #[serde(default)]
    pub admins: Vec<String>,
}

/// `[relay]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RelaySection {
    pub capture: Option<PathBuf>,
    #[serde(default, rename = "plugin")]
    pub plugins: Vec<relay::PluginConfig>,
}

/// `[dashboard]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DashboardSection {
    pub listen: Option<SocketAddr>,
    pub token: Option<String>,
}

/// The three sections of one config file, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Sections {
    pub timing: Option<TimingSection>,
    pub relay: Option<RelaySection>,
    pub dashboard: Option<DashboardSection>,
}

impl Sections {
    /// Reads the sections the ingest config kept as written; an error names the file, the
    /// section and what is wrong in it.
    pub fn of(config: &ingest::Config, path: &Path) -> anyhow::Result<Sections> {
        let sections = Sections {
            timing: section(config.timing.as_ref(), "timing", path)?,
            relay: section(config.relay.as_ref(), "relay", path)?,
            dashboard: section(config.dashboard.as_ref(), "dashboard", path)?,
        };
        if let Some(relay) = &sections.relay {
            relay::validate_plugins(&relay.plugins)
                .map_err(|e| anyhow::anyhow!("config {}: [relay]: {e}", path.display()))?;
        }
        Ok(sections)
    }

    /// Reads the file again (a reload): the ingest settings and the sections.
    pub fn reload(path: &Path) -> anyhow::Result<(ingest::Config, Sections)> {
        let config = ingest::Config::load(path)?;
        let sections = Sections::of(&config, path)?;
        Ok((config, sections))
    }

    /// The plugins of `[relay]`, none without it.
    pub fn relay_plugins(&self) -> &[relay::PluginConfig] {
        self.relay.as_ref().map_or(&[], |r| &r.plugins)
    }
}

fn section<T: for<'de> Deserialize<'de>>(
    table: Option<&toml::Table>,
    name: &str,
    path: &Path,
) -> anyhow::Result<Option<T>> {
    let Some(table) = table else { return Ok(None) };
    toml::Value::Table(table.clone())
        .try_into()
        .map(Some)
        .map_err(|e: toml::de::Error| anyhow::anyhow!("config {}: [{name}]: {}", path.display(), e.message()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn sections(text: &str) -> anyhow::Result<Sections> {
        let path = Path::new("serve.toml");
        let config = ingest::Config::from_toml(text, path)?;
        Sections::of(&config, path)
    }

    #[test]
    fn the_documented_sections_parse() {
        let doc = include_str!("sections.rs");
        let text: String = doc
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .skip_while(|l| !l.contains("```toml"))
            .skip(1)
            .take_while(|l| !l.contains("```"))
            .map(|l| format!("{}\n", l.trim_start_matches("//!").trim_start()))
            .collect();
        let s = sections(&text).unwrap();
        let timing = s.timing.unwrap();
        assert_eq!(timing.server, Some("127.0.0.1:11000".parse().unwrap()));
        assert_eq!((timing.port, timing.interval_ms, timing.admins.len()), (Some(12000), Some(100), 1));
        let relay = s.relay.unwrap();
        assert_eq!(relay.plugins.len(), 1);
        assert_eq!(relay.plugins[0].name, "stracker");
        assert_eq!(relay.plugins[0].reply, Some(11001));
        assert_eq!(s.dashboard.unwrap().listen, Some("127.0.0.1:8080".parse().unwrap()));
    }

    #[test]
    fn a_file_without_them_has_none() {
        assert_eq!(sections("listen = \"127.0.0.1:1\"\n").unwrap(), Sections::default());
    }

    #[test]
    fn a_wrong_key_or_value_names_the_section_and_the_key() {
        let e = format!("{:#}", sections("[timing]\nsever = \"127.0.0.1:11000\"\n").unwrap_err());
        assert!(e.contains("[timing]") && e.contains("sever") && e.contains("serve.toml"), "{e}");
        let e = format!("{:#}", sections("[dashboard]\nlisten = \"nowhere\"\n").unwrap_err());
        assert!(e.contains("[dashboard]"), "{e}");
        let e = format!("{:#}", sections("[[relay.plugin]]\nname = \"a\"\n").unwrap_err());
        assert!(e.contains("[relay]") && e.contains("addr"), "{e}");
        let two = "[[relay.plugin]]\nname = \"a\"\naddr = \"127.0.0.1:1\"\n\
                   [[relay.plugin]]\nname = \"a\"\naddr = \"127.0.0.1:2\"\n";
        let e = format!("{:#}", sections(two).unwrap_err());
        assert!(e.contains("[relay]"), "{e}");
        // Not a section of serve's: the ingest config's own error.
        assert!(sections("[timeing]\n").is_err());
    }
}
