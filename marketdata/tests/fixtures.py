"""Market-data fixtures (the Kiwoom simulator over HTTP, loaded series), shared by all apps."""
