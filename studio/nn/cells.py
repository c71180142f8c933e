"""The recurrent cell names a model may use: known without loading torch (the CLI lists them)."""
CELL_NAMES = ("lstm", "gru", "rnn")
