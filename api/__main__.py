"""``python -m api`` runs the metakg CLI (through the warm worker when one can answer)."""

from api.launch import main

main()
