"""Dataset archives: download (resumable, verified), extract (atomic, safe), locate files inside."""
