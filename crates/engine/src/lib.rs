//! crm-engine (being built).
