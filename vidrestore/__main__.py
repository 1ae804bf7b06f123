from vidrestore.cli import entry_point

entry_point()
