//! hourglass.toml into Settings, with embedded defaults.
