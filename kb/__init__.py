"""The `kb` command line: the edge where settings are read and errors become one clear line."""
