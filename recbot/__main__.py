"""``python -m recbot``: the same as the ``recbot`` command."""

from recbot.tui.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
