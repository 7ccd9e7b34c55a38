"""Defines a function, but not the one the objective format asks for."""


def objective(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, beta):
    return policy_chosen_logps - policy_rejected_logps
