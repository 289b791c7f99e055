"""``python -m tinct``: the ``tinct`` command."""

from __future__ import annotations

from tinct.cli import main

raise SystemExit(main())
