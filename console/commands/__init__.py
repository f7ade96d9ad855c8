"""One module per `warroom` subcommand; each has `add_arguments(parser)` and `run(args) -> int`."""
