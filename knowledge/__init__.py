"""The core: search, answers and battlecards over a built index. No Slack in here."""
