"""``python -m fastdcm``: the ``fastdcm`` command."""
import sys

from fastdcm.cli import main

sys.exit(main())
