//! `hourglass insight` from the command line.
