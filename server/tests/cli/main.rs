//! The operator subcommands of the real binary.

mod email;
mod rls;
