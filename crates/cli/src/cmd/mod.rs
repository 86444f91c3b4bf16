//! One module per subcommand.

pub mod acsp;
pub mod bench;
pub mod bridge;
pub mod convert;
pub mod demo;
pub mod laps;
pub mod serve;
pub mod shm;
pub mod sim;
pub mod sim_game;
