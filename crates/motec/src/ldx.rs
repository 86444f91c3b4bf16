//! `.ldx` files: the XML companion i2 reads beside an `.ld` of the same name, holding the beacon
//! markers that split the log into laps, and the log's details (total laps, fastest lap).
//!
//! The shape, as i2 and the public tools write it:
//!
//! ```text
//! <?xml version="1.0"?>
//! <LDXFile Locale="English_United Kingdom.1252" DefaultLocale="C" Version="1.6">
//!  <Layers>
//!   <Layer>
//!    <MarkerBlock>
//!     <MarkerGroup Name="Beacons" Index="2">
//!      <Marker Version="100" ClassName="BCN" Name="Manual.1" Flags="77" Time="95123000"/>
//!      …
//!     </MarkerGroup>
//!    </MarkerBlock>
//!    <RangeBlock/>
//!   </Layer>
//!   <Details>
//!    <String Id="Total Laps" Value="4"/>
//!    <String Id="Fastest Time" Value="1:31.250"/>
//!    <String Id="Fastest Lap" Value="3"/>
//!   </Details>
//!  </Layers>
//! </LDXFile>
//! ```
//!
//! A marker's `Time` is microseconds since the start of the log (its first sample). i2 makes a
//! lap of each stretch between markers: the stretch before the first marker is the out-lap (lap
//! 1), the one after the last is the in-lap.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::MotecError;

/// The fastest lap of a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastestLap {
    /// Lap number as i2 counts them: 1 is the stretch before the first marker.
    pub lap: u32,
    /// Lap time, ms.
    pub time_ms: u32,
}

/// The contents of an `.ldx` file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ldx {
    /// Beacon (lap line) times since the start of the log, µs, ascending.
    pub beacons_us: Vec<u64>,
    /// Laps in the log, for the details (usually markers + 1).
    pub total_laps: Option<u32>,
    /// Fastest lap, for the details.
    pub fastest: Option<FastestLap>,
}

impl Ldx {
    /// The file's text.
    ///
    /// ```
    /// let ldx = motec::Ldx { beacons_us: vec![60_000_000, 150_250_000], total_laps: Some(3), fastest: None };
    /// let text = ldx.to_xml();
    /// assert!(text.contains(r#"Name="Manual.2" Flags="77" Time="150250000""#));
    /// assert_eq!(motec::Ldx::parse(&text)?, ldx);
    /// # Ok::<(), motec::MotecError>(())
    /// ```
    pub fn to_xml(&self) -> String {
        let mut x = String::new();
        x.push_str("<?xml version=\"1.0\"?>\n");
        x.push_str("<LDXFile Locale=\"English_United Kingdom.1252\" DefaultLocale=\"C\" Version=\"1.6\">\n");
        x.push_str(" <Layers>\n  <Layer>\n   <MarkerBlock>\n");
        let index = self.beacons_us.len().saturating_sub(1);
        let _ = writeln!(x, "    <MarkerGroup Name=\"Beacons\" Index=\"{index}\">");
        for (i, t) in self.beacons_us.iter().enumerate() {
            let _ = writeln!(
                x,
                "     <Marker Version=\"100\" ClassName=\"BCN\" Name=\"Manual.{}\" Flags=\"77\" Time=\"{t}\"/>",
                i + 1
            );
        }
        x.push_str("    </MarkerGroup>\n   </MarkerBlock>\n   <RangeBlock/>\n  </Layer>\n  <Details>\n");
        if let Some(total) = self.total_laps {
            let _ = writeln!(x, "   <String Id=\"Total Laps\" Value=\"{total}\"/>");
        }
        if let Some(f) = self.fastest {
            let _ = writeln!(x, "   <String Id=\"Fastest Time\" Value=\"{}\"/>", lap_time_text(f.time_ms));
            let _ = writeln!(x, "   <String Id=\"Fastest Lap\" Value=\"{}\"/>", f.lap);
        }
        x.push_str("  </Details>\n </Layers>\n</LDXFile>\n");
        x
    }

    /// Writes the file.
    pub fn write(&self, path: &Path) -> Result<(), MotecError> {
        std::fs::write(path, self.to_xml()).map_err(MotecError::io("writing the .ldx file"))
    }

    /// Reads back what [`to_xml`](Self::to_xml) writes (markers and the three details; other
    /// elements are ignored). Errors name the byte offset of the bad attribute.
    pub fn parse(text: &str) -> Result<Ldx, MotecError> {
        if !text.contains("<LDXFile") {
            return Err(MotecError::BadLdx { offset: 0, problem: "no <LDXFile> element".into() });
        }
        let mut ldx = Ldx::default();
        let mut fastest_time = None;
        let mut fastest_lap = None;
        for (at, element) in elements(text, "<Marker ") {
            let t = attribute(element, "Time").ok_or_else(|| MotecError::BadLdx {
                offset: at,
                problem: "a <Marker> without a Time".into(),
            })?;
            ldx.beacons_us.push(t.parse().map_err(|_| MotecError::BadLdx {
                offset: at,
                problem: format!("marker Time {t:?} is not a whole number of µs"),
            })?);
        }
        for (at, element) in elements(text, "<String ") {
            let (Some(id), Some(value)) = (attribute(element, "Id"), attribute(element, "Value")) else {
                return Err(MotecError::BadLdx {
                    offset: at,
                    problem: "a <String> without Id or Value".into(),
                });
            };
            let bad = |what: &str| MotecError::BadLdx { offset: at, problem: format!("{what} {value:?}") };
            match id {
                "Total Laps" => ldx.total_laps = Some(value.parse().map_err(|_| bad("total laps"))?),
                "Fastest Lap" => fastest_lap = Some(value.parse().map_err(|_| bad("fastest lap"))?),
                "Fastest Time" => {
                    fastest_time = Some(parse_lap_time(value).ok_or_else(|| bad("fastest time"))?)
                }
                _ => {}
            }
        }
        if let (Some(lap), Some(time_ms)) = (fastest_lap, fastest_time) {
            ldx.fastest = Some(FastestLap { lap, time_ms });
        }
        Ok(ldx)
    }
}

/// `m:ss.mmm`, as i2 shows lap times.
fn lap_time_text(ms: u32) -> String {
    format!("{}:{:02}.{:03}", ms / 60_000, ms / 1000 % 60, ms % 1000)
}

fn parse_lap_time(text: &str) -> Option<u32> {
    let (m, rest) = text.split_once(':')?;
    let (s, ms) = rest.split_once('.')?;
    let (m, s, ms): (u32, u32, u32) = (m.parse().ok()?, s.parse().ok()?, ms.parse().ok()?);
    (s < 60 && ms < 1000).then(|| m * 60_000 + s * 1000 + ms)
}

/// Each element starting with `open` (e.g. `<Marker `), up to its `>`, with its byte offset.
fn elements<'a>(text: &'a str, open: &'a str) -> impl Iterator<Item = (usize, &'a str)> + 'a {
    text.match_indices(open).map(move |(at, _)| {
        let end = text[at..].find('>').map_or(text.len(), |e| at + e);
        (at, &text[at..end])
    })
}

/// The value of ` name="…"` in an element (the writer never escapes: its values are numbers and
/// fixed words).
fn attribute<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = element.find(&key)? + key.len();
    let len = element[start..].find('"')?;
    Some(&element[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lap_times_read_back() {
        assert_eq!(lap_time_text(91_250), "1:31.250");
        assert_eq!(parse_lap_time("1:31.250"), Some(91_250));
        assert_eq!(parse_lap_time("0:59.999"), Some(59_999));
        assert_eq!(parse_lap_time("1:61.000"), None);
    }
}
