"""Reads the Markdown knowledge base and writes the index. The only writer of an index directory."""
