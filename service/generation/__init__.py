"""Generation: prompts, LLM backends, the extractive answerer and citation repair."""
