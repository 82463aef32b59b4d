"""``python -m governance.store.migrations revision -m "what changes"`` (see ``authoring``)."""

from governance.store.migrations.authoring import main

main()
