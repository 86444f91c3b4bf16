//! What the commands' text output shares: the escapes of `pitwall-text` (strings from outside
//! made safe for a terminal) and the page lap times of `shm` and `sim game`.

pub(crate) use ::text::{escape_controls, json_controls, quoted};

/// A lap or sector time as the game's pages hold it (milliseconds; 0 or less when there is
/// none), as a timing screen shows it.
pub(crate) fn page_lap_time(ms: i32) -> String {
    timing::format_lap_time(u32::try_from(ms).ok().filter(|&ms| ms > 0))
}
