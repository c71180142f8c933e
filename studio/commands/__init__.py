"""One module per group of `studio` subcommands; each exposes `register(subparsers)`."""
