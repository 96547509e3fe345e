"""``python -m sr_zoo`` is the ``sr-zoo`` command."""

import sys

from sr_zoo.cli import main

sys.exit(main())
