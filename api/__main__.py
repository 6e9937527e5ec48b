"""``python -m api`` runs the metakg CLI (through the warm worker when one can answer)."""

from metakg.api.launch import main

main()
