"""Turning an issue's evidence into section content: the chains, their answers' schemas, the
evidence message, the offline drafter and the grounding check on references."""
