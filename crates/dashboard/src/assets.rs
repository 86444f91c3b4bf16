//! The pages, scripts and styles, embedded in the binary: the dashboard never reads a file to
//! serve one, so no request can reach the filesystem.

/// One embedded file.
#[derive(Debug)]
pub(crate) struct Asset {
    /// Its name under `/assets/` (pages have their own routes).
    pub name: &'static str,
    /// The `Content-Type` it is served with.
    pub content_type: &'static str,
    /// The bytes.
    pub body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// The live timing page, served at `/`.
pub(crate) const TIMING_PAGE: Asset =
    Asset { name: "index.html", content_type: HTML, body: include_bytes!("../assets/index.html") };

/// The records page, served at `/records`.
pub(crate) const RECORDS_PAGE: Asset =
    Asset { name: "records.html", content_type: HTML, body: include_bytes!("../assets/records.html") };

/// The live telemetry page, served at `/telemetry`.
pub(crate) const TELEMETRY_PAGE: Asset =
    Asset { name: "telemetry.html", content_type: HTML, body: include_bytes!("../assets/telemetry.html") };

/// The stored sessions and laps, served at `/sessions`.
pub(crate) const SESSIONS_PAGE: Asset =
    Asset { name: "sessions.html", content_type: HTML, body: include_bytes!("../assets/sessions.html") };

/// The lap analysis page, served at `/lap`.
pub(crate) const LAP_PAGE: Asset =
    Asset { name: "lap.html", content_type: HTML, body: include_bytes!("../assets/lap.html") };

/// Everything under `/assets/`, by name: a fixed list, looked up by exact match.
const ASSETS: &[Asset] = &[
    Asset { name: "style.css", content_type: CSS, body: include_bytes!("../assets/style.css") },
    Asset { name: "common.js", content_type: JS, body: include_bytes!("../assets/common.js") },
    Asset { name: "timing.js", content_type: JS, body: include_bytes!("../assets/timing.js") },
    Asset { name: "records.js", content_type: JS, body: include_bytes!("../assets/records.js") },
    Asset { name: "telemetry.js", content_type: JS, body: include_bytes!("../assets/telemetry.js") },
    Asset { name: "sessions.js", content_type: JS, body: include_bytes!("../assets/sessions.js") },
    Asset { name: "lap.js", content_type: JS, body: include_bytes!("../assets/lap.js") },
    Asset {
        name: "vendor/uplot/uPlot.iife.min.js",
        content_type: JS,
        body: include_bytes!("../assets/vendor/uplot/uPlot.iife.min.js"),
    },
    Asset {
        name: "vendor/uplot/uPlot.min.css",
        content_type: CSS,
        body: include_bytes!("../assets/vendor/uplot/uPlot.min.css"),
    },
    Asset {
        name: "vendor/uplot/LICENSE",
        content_type: TEXT,
        body: include_bytes!("../assets/vendor/uplot/LICENSE"),
    },
];

/// The asset named `name` (the path after `/assets/`), if there is one.
pub(crate) fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_names_are_found() {
        assert!(find("style.css").is_some());
        assert!(find("vendor/uplot/LICENSE").is_some());
        for name in
            ["", "../Cargo.toml", "/etc/passwd", "vendor/uplot", "style.css/", "STYLE.CSS", "./style.css"]
        {
            assert!(find(name).is_none(), "{name:?}");
        }
    }

    #[test]
    fn the_vendored_licence_is_uplots() {
        let licence = std::str::from_utf8(find("vendor/uplot/LICENSE").map(|a| a.body).unwrap_or_default());
        assert!(licence.is_ok_and(|l| l.contains("MIT License") && l.contains("Leon Sorokin")));
    }
}
