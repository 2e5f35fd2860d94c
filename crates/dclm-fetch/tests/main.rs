//! Integration tests of dclm-fetch, one binary: a module per concern, over loopback servers.

mod fetch;
mod hub;
mod pool;
mod server;
