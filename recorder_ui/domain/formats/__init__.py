"""One module per wire format of a recording's response; only the loader imports them."""
