"""The summary tables are derived data (rebuilt by the nightly jobs): nothing to edit in the admin."""
