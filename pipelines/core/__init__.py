"""Shared pipeline machinery: command runner, stage context, JUnit and Markdown reports."""
