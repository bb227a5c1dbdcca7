//! crm-clv (being built).
