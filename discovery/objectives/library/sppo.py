"""SPPO (hard, self-play preference optimization, arXiv 2405.00675): each answer's log-ratio regressed
on its own, the chosen onto 1 / (2 beta) and the rejected onto -1 / (2 beta) (win probabilities 1 and 0)."""


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    chosen_logratios = policy_chosen_logps - reference_chosen_logps
    rejected_logratios = policy_rejected_logps - reference_rejected_logps
    return (chosen_logratios - 0.5 / beta) ** 2 + (rejected_logratios + 0.5 / beta) ** 2
