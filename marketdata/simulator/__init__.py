"""The Kiwoom REST API simulator: a synthetic KRX market (`market`) served over HTTP (`server`)."""
