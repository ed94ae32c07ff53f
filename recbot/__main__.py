"""``python -m recbot``: the same as the ``recbot`` command."""

from recbot.tui.cli import run

if __name__ == "__main__":
    run()
