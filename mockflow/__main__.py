import sys

from mockflow.cli import main

sys.exit(main())
