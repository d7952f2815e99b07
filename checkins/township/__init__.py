"""The township's places and people: villages, grids, roster, imports, grid tagging."""
