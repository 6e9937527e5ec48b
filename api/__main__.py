"""``python -m api`` runs the metakg CLI."""

from api.cli import main

main()
