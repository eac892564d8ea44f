//! ChangeSet + graph + rules into a Selection of tests, with reasons.
