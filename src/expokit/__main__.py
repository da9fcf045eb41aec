"""``python -m expokit`` runs the command line."""

from .cli import main

main()
