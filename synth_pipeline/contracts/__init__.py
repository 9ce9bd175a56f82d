"""Data contracts between stages, as pydantic models.

Each model is the single source of truth for one artifact; the JSON Schemas in specs/ are
generated from them (`python -m synth_pipeline.contracts.export`) and a test keeps them in sync.
The privacy gate validates packs against the *JSON Schema file*, independently of these models.
"""
