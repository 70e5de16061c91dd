"""The `tracker` command line. Command modules import heavy layers only inside commands."""
