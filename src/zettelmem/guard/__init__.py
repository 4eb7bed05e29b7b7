"""The guard against memory poisoning: risk signals, contradiction, LLM audit, verdicts."""
