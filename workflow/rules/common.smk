# Helper functions shared by every branch. Rule files hold rules only; functions live here.
from pathlib import Path


def is_activated(branch):
    """True when config switches the branch ('molecules', 'sequences', 'imaging') on."""
    return bool(config[branch]["enabled"])


def require_input_file(key, path, made_by_workflow=()):
    """Fail at start-up, naming the config key and the path, when an input file does not exist.

    Paths that a rule of this workflow makes (the embedded examples) are exempt.
    """
    if str(path) in {str(p) for p in made_by_workflow}:
        return
    if not Path(path).exists():
        raise WorkflowError(
            f"config key '{key}' names the input file '{path}', which does not exist "
            f"(checked from {Path.cwd()}). Fix the path in your config file or remove the entry."
        )


def scaled_mem_mb(base_mb):
    """Memory that grows with the attempt, so `--retries` gives an out-of-memory job more."""

    def mem_mb(wildcards, attempt):
        return int(base_mb * attempt)

    return mem_mb


def scaled_runtime(base_minutes):
    """Wall-time limit (minutes) that grows with the attempt, for schedulers such as SLURM."""

    def runtime(wildcards, attempt):
        return int(base_minutes * attempt)

    return runtime


def get_final_output():
    """Every final target of every enabled branch: what `rule all` asks for."""
    targets = ["results/provenance.json"]
    if is_activated("molecules"):
        targets += get_molecules_final_output()
    if is_activated("sequences"):
        targets += get_sequences_final_output()
    if is_activated("imaging"):
        targets += get_imaging_final_output()
    return targets


def get_input_files():
    """Every input file of every enabled branch (user files or made examples), for provenance."""
    files = []
    return sorted(set(files))


# --- molecules helpers (owned by workflow/rules/molecules.smk) ---
def get_molecules_final_output():
    return []


# --- end molecules helpers ---


# --- sequences helpers (owned by workflow/rules/sequences.smk) ---
def get_sequences_final_output():
    return []


# --- end sequences helpers ---


# --- imaging helpers (owned by workflow/rules/imaging.smk) ---
def get_imaging_final_output():
    return []

# --- end imaging helpers ---
