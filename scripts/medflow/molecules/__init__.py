"""The molecules branch's libraries: reading and chunking inputs (io), standardization, descriptors,
the screen, the per-molecule pipeline, the gathered tables, 3D conformers and plots.

The step scripts (scripts/mol_*.py) are thin entry points over these modules.
"""
