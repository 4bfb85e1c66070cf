"""`python -m kubeward` runs the command-line interface."""

from kubeward.cli.main import main

if __name__ == "__main__":
    main()
