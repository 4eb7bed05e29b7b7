"""Entry point for ``python -m zettelmem``."""

from zettelmem.cli import main

if __name__ == "__main__":
    main()
