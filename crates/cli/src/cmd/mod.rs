//! One module per subcommand.

pub mod acsp;
pub mod demo;
pub mod sim;
