"""Datasets: the dataset spec, table loaders, public-format loaders, synthetic generators."""

from finai.datasets.german import GERMAN_SPEC, load_german
from finai.datasets.loanbook import LoanBook, make_loan_book, oracle_auc
from finai.datasets.spec import (
    DatasetSpec,
    PreparedData,
    check_scoring_frame,
    load_table,
    prepare,
)

__all__ = [
    "GERMAN_SPEC",
    "DatasetSpec",
    "LoanBook",
    "PreparedData",
    "check_scoring_frame",
    "load_german",
    "load_table",
    "make_loan_book",
    "oracle_auc",
    "prepare",
]
