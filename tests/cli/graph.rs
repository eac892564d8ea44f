//! `hourglass graph` from the command line.
