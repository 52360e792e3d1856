"""What a person sees: the palpate CLI, the terminal view and (later) the Qt windows."""
