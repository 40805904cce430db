//! What a backup refuses, and how: each a clear error, nothing half-written.
