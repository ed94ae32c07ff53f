"""``python -m recbot.agent.i18n``: write locale/recbot.pot, list what the catalogs lack."""

import sys

from .messages import main

sys.exit(main())
