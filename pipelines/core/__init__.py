"""The stage engine: command runner, stage context, orchestration, JUnit and Markdown reports."""
