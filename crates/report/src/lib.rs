//! crm-report (being built).
