"""``python -m insar_deformation_detector.core.distributed``: the chain's command line (see command_line)."""
import sys

from .command_line import main

sys.exit(main())
