"""The worker's own side, as the phone app sees it: my day, my data."""
