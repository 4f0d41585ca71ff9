"""nn.Modules only; no tracking logic."""
