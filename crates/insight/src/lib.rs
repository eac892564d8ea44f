//! Pure analyses of the history: flaky, broken, fixed and slow tests; CODEOWNERS routing.
