"""Learning from incidents (issue 12): postmortems, action items, problems and known
errors, the knowledge base, similar incidents and runbooks."""
