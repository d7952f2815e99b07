"""What the village and township offices see and decide: queries, decisions, exports."""
