"""SPPO (hard): regress each answer's log-ratio to a target of +-1/(2 beta), the chosen answer up and
the rejected one down (TRL's `loss_type="sppo_hard"`). Far from the reference it pulls back towards
the target, which a direction check must not take for preferring the rejected answer."""


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    chosen = policy_chosen_logps - reference_chosen_logps
    rejected = policy_rejected_logps - reference_rejected_logps
    return (chosen - 0.5 / beta) ** 2 + (rejected + 0.5 / beta) ** 2
