//! The operator subcommands of the real binary.

mod email;
mod keys_and_imports;
mod provisioning;
mod rls;
