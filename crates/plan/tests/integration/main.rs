//! Integration tests of hourglass-plan.

mod plan;
mod simulation;
mod trend;
