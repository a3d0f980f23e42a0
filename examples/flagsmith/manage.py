#!/usr/bin/python3
"""Django's command-line utility for the Flagsmith example."""
import os
import sys

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "..", "sdk", "python"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flagsmith.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
