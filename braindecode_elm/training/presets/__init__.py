"""Bundled YAML presets of ELM pretraining.

``elm-5s``, ``elm-60s``, ``tiny-cpu`` and ``tiny-cpu-demo``.
"""
