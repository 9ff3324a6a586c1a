"""Database operations run by the PostgreSQL image and its CronJobs (standard library only).

Why standard library only: the same files run inside the database image (Debian's python3, no
pip) and in the tests, so what is tested is exactly what the CronJobs execute.
"""
