"""Elapsed-time formatting shared by the console, the reports and the summary table."""

from __future__ import annotations


def format_duration(seconds: float) -> str:
    """Render seconds the way people read them: 0.4s, 12.3s, 2m05s, 1h02m."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
