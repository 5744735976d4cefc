"""`python -m broker`: the `buildify-events` operator tool."""

from broker.cli import main

if __name__ == "__main__":
    main()
