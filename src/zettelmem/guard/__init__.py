"""The guard against memory poisoning: a clause grammar for instructions aimed at an agent,
risk signals, contradiction, LLM audit, verdicts."""
