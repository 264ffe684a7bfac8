"""The modals: one module each (what's broken, what shipped, a check-in's answer, settings)."""
