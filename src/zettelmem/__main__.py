"""Entry point for ``python -m zettelmem``."""

from zettelmem.cli.main import main

if __name__ == "__main__":
    main()
