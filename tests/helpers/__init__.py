"""Test helpers: stand-in data in the datasets' real layouts, callbacks that record runs, scripts."""
