//! Integration tests of hourglass-graph on fixture workspaces.

mod graph;
mod receivers;
mod workspace;
