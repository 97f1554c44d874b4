"""The `shipway` command line, one module per noun."""
