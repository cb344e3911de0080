"""Patient safety and privacy: checks made before a post is published (personal information,
crisis language, advice phrased as instructions)."""
