# The molecules branch: see README.md.
