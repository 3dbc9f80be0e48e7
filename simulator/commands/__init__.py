"""One module per `cascade` subcommand; each is a thin wrapper over a library function."""
