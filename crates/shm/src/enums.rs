//! AC's enums, stored in the pages as 32-bit ints. Codes a build does not know decode to
//! `Unknown(code)` rather than failing, so a newer game (or ACC) still reads.

use serde::{Deserialize, Serialize};

macro_rules! ac_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $code:literal ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A code not listed in docs/shm.md, kept as is.
            Unknown(i32),
        }

        impl From<i32> for $name {
            fn from(code: i32) -> Self {
                match code {
                    $( $code => Self::$variant, )*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for i32 {
            fn from(value: $name) -> i32 {
                match value {
                    $( $name::$variant => $code, )*
                    $name::Unknown(code) => code,
                }
            }
        }
    };
}

ac_enum! {
    /// `AC_STATUS` (graphics `status`): what the game is doing.
    Status {
        /// `AC_OFF`: in the menus, or not running a session.
        Off = 0,
        /// `AC_REPLAY`: showing a replay.
        Replay = 1,
        /// `AC_LIVE`: driving.
        Live = 2,
        /// `AC_PAUSE`: paused.
        Pause = 3,
    }
}

ac_enum! {
    /// `AC_SESSION_TYPE` (graphics `session`).
    SessionType {
        /// `AC_UNKNOWN` (-1): the game reports no session type. Named differently from our
        /// `Unknown(code)` fallback, which means "a code docs/shm.md does not list".
        Unspecified = -1,
        /// `AC_PRACTICE`.
        Practice = 0,
        /// `AC_QUALIFY`.
        Qualify = 1,
        /// `AC_RACE`.
        Race = 2,
        /// `AC_HOTLAP`.
        Hotlap = 3,
        /// `AC_TIME_ATTACK`.
        TimeAttack = 4,
        /// `AC_DRIFT`.
        Drift = 5,
        /// `AC_DRAG`.
        Drag = 6,
        /// `AC_HOTSTINT` (ACC only).
        HotStint = 7,
        /// `AC_HOTLAPSUPERPOLE` (ACC only).
        HotlapSuperpole = 8,
    }
}

ac_enum! {
    /// `AC_FLAG_TYPE` (graphics `flag`).
    FlagType {
        /// `AC_NO_FLAG`.
        NoFlag = 0,
        /// `AC_BLUE_FLAG`.
        Blue = 1,
        /// `AC_YELLOW_FLAG`.
        Yellow = 2,
        /// `AC_BLACK_FLAG`.
        Black = 3,
        /// `AC_WHITE_FLAG`.
        White = 4,
        /// `AC_CHECKERED_FLAG`.
        Checkered = 5,
        /// `AC_PENALTY_FLAG`.
        Penalty = 6,
        /// `AC_GREEN_FLAG` (ACC only).
        Green = 7,
        /// `AC_ORANGE_FLAG` (ACC only).
        Orange = 8,
    }
}

ac_enum! {
    /// Push-to-pass state (physics `P2PStatus`, in the optional tail). The codes come from CSP
    /// Lua usage; the AC doc does not list them.
    P2pStatus {
        /// Not available.
        Off = 0,
        /// Cooling down after use.
        Cooling = 1,
        /// Ready to use.
        Available = 2,
        /// In use.
        Active = 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_round_trip() {
        for code in 0..4 {
            assert_eq!(i32::from(Status::from(code)), code);
            assert!(!matches!(Status::from(code), Status::Unknown(_)));
        }
        for code in -1..9 {
            assert_eq!(i32::from(SessionType::from(code)), code);
            assert!(!matches!(SessionType::from(code), SessionType::Unknown(_)));
        }
        for code in 0..9 {
            assert_eq!(i32::from(FlagType::from(code)), code);
        }
        assert_eq!(SessionType::from(-1), SessionType::Unspecified);
        assert_eq!(SessionType::from(4), SessionType::TimeAttack);
        assert_eq!(FlagType::from(5), FlagType::Checkered);
        assert_eq!(P2pStatus::from(3), P2pStatus::Active);
    }

    #[test]
    fn unknown_codes_are_kept() {
        assert_eq!(Status::from(4), Status::Unknown(4));
        assert_eq!(SessionType::from(-2), SessionType::Unknown(-2));
        assert_eq!(FlagType::from(i32::MAX), FlagType::Unknown(i32::MAX));
        assert_eq!(i32::from(FlagType::Unknown(77)), 77);
    }

    #[test]
    fn serialize_as_snake_case() {
        assert_eq!(serde_json::to_string(&Status::Live).unwrap(), "\"live\"");
        assert_eq!(serde_json::to_string(&SessionType::TimeAttack).unwrap(), "\"time_attack\"");
        assert_eq!(serde_json::to_string(&FlagType::Unknown(9)).unwrap(), "{\"unknown\":9}");
    }
}
