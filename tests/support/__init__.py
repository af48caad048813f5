"""Helpers the tests share: fixture databases, spider drivers, a served catalog. Test modules import only from here."""
