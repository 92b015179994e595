//! Receipts: chained, dual-hashed, signed records of every reconciliation and gate check.
