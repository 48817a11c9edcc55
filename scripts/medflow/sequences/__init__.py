"""The sequences branch's libraries: I/O, QC decisions, alignment, statistics, clustering, plots.

Step scripts (scripts/seq_*.py) are thin entry points over these modules; no step imports another.
`blocks` is pure Python so that workflow/rules/common.smk can import it beside Snakemake.
"""
