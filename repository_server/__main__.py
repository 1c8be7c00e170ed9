import sys

from repository_server.cli import main

sys.exit(main())
