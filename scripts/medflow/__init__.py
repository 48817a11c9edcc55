"""medflow's libraries: shared code that the step scripts in scripts/ import.

`medflow.step` and `medflow.config` are the step interface (one entry point per step, settings from
the schema); the branch packages hold the work: I/O, statistics, plotting and decisions.
"""
