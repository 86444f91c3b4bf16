//! One module per subcommand.

pub mod acsp;
pub mod bench;
pub mod demo;
pub mod serve;
pub mod shm;
pub mod sim;
pub mod sim_game;
