//! `hourglass select` from the command line.
