"""``python -m sockpuppet``: the same as the ``sockpuppet`` console script."""

from sockpuppet.cli import main

raise SystemExit(main())
