"""``python -m township_coverage``: the same as the ``township-coverage`` command."""

from township_coverage.console import main

if __name__ == "__main__":
    main()
