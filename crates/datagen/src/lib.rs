//! crm-datagen (being built).
