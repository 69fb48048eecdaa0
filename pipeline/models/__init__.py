"""Model backends (embedding, translation) and the offline model builder."""
