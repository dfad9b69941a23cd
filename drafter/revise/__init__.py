"""Work on drafts that exist: review them, redraft a section (or the failed ones), report drift."""
