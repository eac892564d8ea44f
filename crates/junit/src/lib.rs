//! Streaming JUnit XML reader (quick-xml) for every common dialect.
