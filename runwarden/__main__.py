"""`python -m runwarden ...` runs the installed command, as the `runwarden` console script does."""
from runwarden import main

if __name__ == "__main__":
    main()
