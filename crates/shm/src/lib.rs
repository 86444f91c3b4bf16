//! Shared memory (placeholder, issue 3).
