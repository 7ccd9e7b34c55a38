"""Terminal views of runs and candidates: rich tables, plots, the live run display, the browser."""
