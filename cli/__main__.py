"""`python -m cli ...` runs the same CLI as the `runwarden` console script."""
from cli.main import main

if __name__ == "__main__":
    main()
