"""The demo township and its simulated working day."""
