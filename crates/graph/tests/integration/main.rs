//! Integration tests of hourglass-graph on fixture workspaces.

mod graph;
mod macros;
mod receivers;
mod workspace;
