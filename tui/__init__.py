"""The Textual chat app and the `recbot` command line."""
