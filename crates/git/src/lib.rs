//! The only git2 user: revisions and working tree into ChangeSets; commit history.
