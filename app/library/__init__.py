"""The health library: condition pages (sections, authorship, references), specialists,
clinical trials and their matching, latest advances, and members' saved items."""
