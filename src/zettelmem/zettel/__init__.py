"""The Zettelkasten: note construction (offline and LLM), linking, evolution, reflect."""
