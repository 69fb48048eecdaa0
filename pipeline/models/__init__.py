"""Model backends (embedding, translation, language identification) and the offline model
builder; which backend a job uses is looked up in :mod:`pipeline.registry`."""
