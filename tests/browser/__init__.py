"""Browser tests driving the real pages in headless Chromium."""
