# The sequences branch: see README.md.
