//! Integration tests of hourglass-plan.
