"""Retrain recipes (TRL-style YAML) and the accelerate / DeepSpeed configurations they launch with.

Package data, read with `importlib.resources`; `discovery.retrain.recipe` lists and loads them.
"""
