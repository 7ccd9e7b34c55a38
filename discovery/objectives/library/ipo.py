"""IPO: regress the log-ratio margin rho onto the fixed target 1 / (2 beta) with a squared loss, so the
margin cannot grow without bound the way it can under the logistic loss on deterministic preferences."""


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return (rho - 1 / (2 * beta)) ** 2
