//! The run's certificates.
