//! crm-warehouse (being built).
