//! crm-ingest (being built).
