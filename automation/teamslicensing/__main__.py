"""`python -m teamslicensing` runs the command line."""

import sys

from teamslicensing.cli import main

sys.exit(main())
