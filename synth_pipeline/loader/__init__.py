"""Loader and perf-database lifecycle: provision, COPY load, verify, expire, tear down, audit."""
