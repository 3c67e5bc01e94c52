"""Statements of Theorem 1 and its lemmas: sympy constants and numerical checkers."""
