"""On-demand PostgreSQL benchmarks: chart tuning vs defaults (pgbench), backup/restore, RPO/RTO."""
