"""``python -m plantheme``: the same command line as the ``plantheme`` script."""

import sys

from .cli import main

sys.exit(main())
