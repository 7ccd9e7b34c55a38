"""discover: LLM-driven discovery of preference-optimization objectives."""

__version__ = "0.1.0"
