"""On-demand API benchmark: wrk against the API, a bare handler ceiling and pgbench -S."""
