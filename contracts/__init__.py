"""Fengqiao contracts: the cooperation agreement, versioned event schemas, canonical bytes.

This package imports nothing else of Fengqiao; another bureau's implementation can be checked
against the files it ships (agreements/, schemas/, test-vectors/).
"""

from pathlib import Path

CONTRACTS_DIR = Path(__file__).resolve().parent
AGREEMENTS_DIR = CONTRACTS_DIR / "agreements"
SCHEMAS_DIR = CONTRACTS_DIR / "schemas"
TEST_VECTORS_DIR = CONTRACTS_DIR / "test-vectors"
