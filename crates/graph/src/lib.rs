//! Cargo workspace into a graph of packages, targets, modules, items and tests (syn, petgraph, rayon).
