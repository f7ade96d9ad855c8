"""The console's screens: the live main view, details, logs, checklist, help and modals."""
