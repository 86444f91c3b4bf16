//! One module per subcommand.

pub mod acsp;
pub mod sim;
