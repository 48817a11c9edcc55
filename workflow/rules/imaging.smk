# The imaging branch: see README.md.
