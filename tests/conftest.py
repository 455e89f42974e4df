import os

# Colour settings from the environment would change snapshots.
os.environ.pop("NO_COLOR", None)
os.environ.pop("TEXTUAL_THEME", None)
