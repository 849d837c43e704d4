"""One module per integration kind: parse(request body) -> normalised events."""
